"""One launcher for every server this package (and the reference CLI) starts.

The Temporal SDK spawns a server from an "existing path". We hand it a small script
instead of the binary; the script runs ``_guard.py``, which ends by exec'ing the real
binary (so the process id the SDK stops on shutdown is the server's) after it has:

- started a watchdog that stops the server when its owner (pytest, trading-agents) dies,
  by any signal, ``kill -9`` included;
- sent the server's output to a log file of its own (:meth:`Launcher.log_tail`);
- preloaded the loopback shim (:mod:`._loopback`), for the time-skipping server, which
  otherwise listens on every interface;
- optionally, started a new session (the CLI's Ctrl-C handling needs the server out of the
  terminal's process group).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._guard import process_alive
from ._loopback import loopback_library

_GUARD = Path(__file__).with_name("_guard.py")

SCRIPT = """\
#!/bin/sh
# Written by pytest-temporal-agents: runs the Temporal server {binary_name} guarded (it dies
# with process {owner}), its output in its log file. exec keeps the process id the SDK stops.
{ignore_interrupts}exec {command} "$@"
"""
# With --new-session the server leaves the owner's process group, and so the terminal's
# Ctrl-C; but until the guard's setsid() it is still in the group, and a Ctrl-C there used to
# kill the launcher: the SDK then waited 5 s for a server that would never listen. The shell
# ignores SIGINT from its first command on (an ignored signal stays ignored across exec);
# the guard restores the default once it has its own session.
IGNORE_INTERRUPTS = "trap '' INT\n"


@dataclass(frozen=True)
class Launcher:
    """A launcher script for one server, and what it leaves behind once the server runs.

    Attributes:
        path: the executable to give the SDK as ``test_server_existing_path`` /
            ``dev_server_existing_path``.
        log: the file the server writes its stdout and stderr to (None: inherited).
        pidfile: the file the server's process id is written to.
    """

    path: Path
    log: Path | None
    pidfile: Path
    owner: int = field(default=0)

    def server_pid(self) -> int | None:
        """The server's process id, once it has started (None before)."""
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def server_alive(self) -> bool:
        """Whether the server process runs (a zombie awaiting its reaper counts as dead)."""
        pid = self.server_pid()
        return pid is not None and process_alive(pid)

    def log_tail(self, lines: int = 20) -> list[str]:
        """The last ``lines`` lines of the server's log (empty if it has none)."""
        if self.log is None:
            return []
        try:
            text = self.log.read_bytes()[-64_000:].decode("utf-8", "replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


def guarded(binary: Path, directory: Path, **options: Any) -> tuple[Path, Launcher | None]:
    """The path to give the SDK for ``binary``: a :func:`write_launcher` script on POSIX, with
    its :class:`Launcher`; elsewhere the binary itself (unguarded) and None."""
    if os.name != "posix":
        return binary, None
    launcher = write_launcher(binary, directory, **options)
    return launcher.path, launcher


def write_launcher(
    binary: Path,
    directory: Path,
    *,
    name: str | None = None,
    owner: int | None = None,
    log: Path | None | bool = True,
    loopback: bool = False,
    new_session: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Launcher:
    """Write a launcher for ``binary`` into ``directory`` (POSIX only).

    Args:
        binary: the server executable.
        directory: where the script, the log and the pid file go; the caller removes it.
        name: the script's file name (default: the binary's).
        owner: the process the server dies with (default: this one).
        log: True for ``directory/<name>.log``, a path, or None/False to inherit output.
        loopback: preload the loopback shim (the server binds 127.0.0.1 instead of the
            wildcard); without a C compiler a warning says so and the server starts as before.
        new_session: run the server in a session of its own (``setsid``).
        environment: variables set for the server; ``LD_PRELOAD`` is prepended to an
            existing one.

    Returns:
        The :class:`Launcher`: its script path, log and pid file.
    """
    name = name or binary.name
    directory.mkdir(parents=True, exist_ok=True)
    owner = os.getpid() if owner is None else owner
    log_path = directory / f"{name}.log" if log is True else (log or None)
    pidfile = directory / f"{name}.pid"
    options = ["--owner", str(owner), "--pidfile", str(pidfile)]
    if log_path is not None:
        options += ["--log", str(log_path)]
    if new_session:
        options.append("--new-session")
    variables = dict(environment or {})
    if loopback:
        shim = loopback_library()
        if shim is not None:
            preload = variables.get("LD_PRELOAD")
            variables["LD_PRELOAD"] = f"{shim}:{preload}" if preload else str(shim)
    for key, value in variables.items():
        options += ["--env", f"{key}={value}"]
    command = shlex.join([sys.executable, "-S", str(_GUARD), *options, "--", str(binary)])
    script = directory / name
    script.write_text(
        SCRIPT.format(
            binary_name=binary.name,
            owner=owner,
            command=command,
            ignore_interrupts=IGNORE_INTERRUPTS if new_session else "",
        )
    )
    script.chmod(0o755)
    return Launcher(path=script, log=log_path, pidfile=pidfile, owner=owner)
