"""Ctrl-C at random moments on every long-running ``trading-agents`` command.

Each command gets ``TRIES`` tries, a few at a time, each with its own state directory: the
command starts in a process group of its own (a terminal's foreground job), and after a
moment drawn from a seeded random (start-up, server start, worker start, mid-run, shutdown)
it gets SIGINT on the whole group, as a terminal sends Ctrl-C. Every try must exit 130 within
5 s with no traceback or crash, stop the dev server it started, and leave a consistent paper
ledger. ``worker`` and ``run automated`` connect to one dev server the module starts
(``--address``); ``server``, ``ui`` and ``run all`` start their own.

A failure prints the seed and each failed try's moment, exit code, time and stderr; rerun
with ``CTRL_C_SEED=N`` (and ``CTRL_C_TRIES``) to repeat the same moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_workflows import cluster

ROOT = Path(__file__).resolve().parents[2]
TRIES = int(os.environ.get("CTRL_C_TRIES", "50"))
SEED = int(os.environ.get("CTRL_C_SEED", "20261205"))
PARALLEL = 2  # a few at a time; more on two cores makes server starts (and stops) slow
EXIT_WITHIN = 5.0
# Python's own start-up (site, the editable install's import hooks) comes before any code of
# ours can handle SIGINT: there the interpreter itself reports KeyboardInterrupt. Moments start
# after it; the commands' own start-up (temporalio's import, the server's start) is covered.
EARLIEST, LATEST = 0.25, 4.0
CRASH_MARKS = ("Traceback", "Fatal Python error", "panicked", "Exception ignored", "Aborted")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process groups; reads /proc")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, whatever is installed
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("TEMPORAL_PROFILE", None)
    return env


def _command(*args: str) -> list[str]:
    # What the console script runs: main, then os._exit with its code.
    return [
        sys.executable,
        "-c",
        "from reference_workflows.cli import console_main as m; m()",
        *args,
    ]


@dataclass(frozen=True)
class Try:
    moment: float
    code: int | None
    seconds: float
    stderr: str
    problems: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"  at {self.moment:.2f} s: exit {self.code}, {self.seconds:.2f} s after SIGINT; "
            f"{'; '.join(self.problems)}\n    stderr: {self.stderr[-800:]!r}"
        )


def ledger_problems(path: Path) -> list[str]:
    """What is inconsistent in a paper ledger (empty: consistent, or no ledger yet)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        problems = []
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            problems.append(f"integrity_check: {check}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "fills" not in tables:
            return problems  # interrupted before the schema's one transaction: nothing written
        for (order_id,) in conn.execute(
            "SELECT o.order_id FROM orders o LEFT JOIN fills f USING (order_id) "
            "WHERE (o.status = 'filled') != (f.fill_id IS NOT NULL)"
            " OR (f.fill_id IS NOT NULL AND f.quantity != o.filled_quantity)"
        ):
            problems.append(f"order {order_id}: status and fill disagree")
        for account, cash, reserved, active in conn.execute(
            "SELECT a.account_id, a.cash, a.reserved, COALESCE(SUM(r.amount), 0) FROM accounts a "
            "LEFT JOIN reservations r ON r.account_id = a.account_id AND r.status = 'active' "
            "GROUP BY a.account_id"
        ):
            if cash < 0 or reserved != active:
                problems.append(f"account {account}: cash {cash}, reserved {reserved} != {active}")
        for account, symbol, quantity in conn.execute(
            "SELECT account_id, symbol, quantity FROM positions WHERE quantity < 0"
        ):
            problems.append(f"position {account}/{symbol}: {quantity}")
        return problems
    finally:
        conn.close()


def _one_try(args: tuple[str, ...], moment: float) -> Try:
    with tempfile.TemporaryDirectory(prefix="ctrl-c-") as home:
        state = cluster.StateDir(Path(home).resolve(), explicit=True)
        process = subprocess.Popen(
            _command(*args, "--state-dir", str(state.root)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=home,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        time.sleep(moment)
        sent = time.monotonic()
        # `run automated` can finish before a late moment: then there is nothing to interrupt.
        finished_first = process.poll() is not None
        if not finished_first:
            os.killpg(process.pid, signal.SIGINT)
        problems = []
        try:
            _, err = process.communicate(timeout=EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            problems.append(f"still running {EXIT_WITHIN:g} s after SIGINT")
            os.killpg(process.pid, signal.SIGKILL)
            _, err = process.communicate()
        seconds = time.monotonic() - sent
        if process.returncode != (0 if finished_first else 130):
            problems.append(f"exit {process.returncode}, not 130")
        problems += [f"{mark!r} on stderr" for mark in CRASH_MARKS if mark in err]
        left = cluster.servers_on_database(state.temporal_db)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        if left:
            problems.append(f"dev server(s) {left} left running")
        problems += ledger_problems(state.ledger)
        return Try(moment, process.returncode, seconds, err, tuple(problems))


@pytest.fixture(scope="module")
def shared_server() -> Iterator[str]:
    """One dev server (``trading-agents server``) for the commands that can connect to one."""
    with tempfile.TemporaryDirectory(prefix="ctrl-c-server-") as home:
        process = subprocess.Popen(
            _command("server", "--state-dir", home, "--port", "0", "--ui-port", "0"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            start_new_session=True,
        )
        record = Path(home) / "server.json"
        try:
            deadline = time.monotonic() + 30
            while not record.exists():
                assert process.poll() is None and time.monotonic() < deadline, process.stderr
                time.sleep(0.05)
            yield str(json.loads(record.read_text())["address"])
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            finally:
                if process.poll() is None:
                    process.kill()


COMMANDS = {
    "server": ("server", "--port", "0", "--ui-port", "0"),
    "ui": ("ui", "--port", "0", "--ui-port", "0"),
    "run all": ("run", "all"),
    "worker": ("worker",),
    "run automated": ("run", "automated", "--symbol", "AAPL"),
}
CONNECTS = {"worker", "run automated"}


@pytest.mark.chaos
@pytest.mark.parametrize("name", list(COMMANDS))
def test_ctrl_c_at_any_moment_exits_130_quickly_and_cleanly(
    name: str, request: pytest.FixtureRequest
) -> None:
    args = COMMANDS[name]
    if name in CONNECTS:
        args = (*args, "--address", request.getfixturevalue("shared_server"))
    seed = SEED + sorted(COMMANDS).index(name)
    draw = random.Random(seed)
    moments = [round(draw.uniform(EARLIEST, LATEST), 3) for _ in range(TRIES)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        tries = list(pool.map(lambda moment: _one_try(args, moment), moments))
    failed = [one for one in tries if one.problems]
    assert not failed, (
        f"trading-agents {' '.join(args)}: {len(failed)} of {TRIES} tries failed "
        f"(CTRL_C_SEED={seed}; moments {moments}):\n" + "\n".join(t.describe() for t in failed)
    )


def test_the_ledger_check_finds_a_fill_without_its_order_filled(tmp_path: Path) -> None:
    from reference_workflows.ledger import LEDGER_SCHEMA

    ledger = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(ledger)
    conn.executescript(LEDGER_SCHEMA)
    conn.execute("INSERT INTO accounts VALUES ('paper', 100, 0)")
    conn.execute(
        "INSERT INTO orders (order_id, account_id, symbol, side, quantity, status, "
        "reference_price, placed_at) VALUES ('o1', 'paper', 'AAPL', 'buy', 1, 'pending', 1.0, '')"
    )
    conn.execute("INSERT INTO fills VALUES ('f1', 'o1', 'paper', 'AAPL', 'buy', 1, 1.0, 100)")
    conn.commit()
    conn.close()
    assert ledger_problems(ledger) == ["order o1: status and fill disagree"]
