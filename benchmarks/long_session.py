"""Flat cost over a long session: does the N-th test cost what the first did?

Writes a test file of N small but realistic tests that use the ``temporal`` fixture (a
workflow with two activities; every other test mocks one of them, every fourth sends a
signal), then runs ``python -m pytest`` on it once per server kind the plugin starts (the
time-skipping server, the default, and the dev server, ``--temporal-env=local``), each in a
subprocess. A small conftest in that directory records, per test, the time from the end of
the previous test to the end of this one (setup, call, teardown and the hooks between), and
every 100 tests the resident memory (RSS, from /proc) of the Temporal server the session
started (the pytest process's descendant named ``temporal*``).

Prints per server kind: the median cost of the first hundred tests and of the last hundred,
their ratio, and the server's RSS at the first sample, at the end, and its growth.

Usage: python benchmarks/long_session.py [N] [--env time-skipping|local] [-- pytest args]
       (default N=1000, both server kinds; runs with the replay check on, the default)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WORKFLOWS = '''\
from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def fetch_quote(symbol: str) -> float:
    return 100.0 + len(symbol)


@activity.defn
async def place_order(symbol: str, price: float) -> str:
    return f"bought {symbol} at {price:.1f}"


@workflow.defn
class Trade:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self, symbol: str, wait_for_approval: bool) -> str:
        price = await workflow.execute_activity(
            fetch_quote, symbol, start_to_close_timeout=timedelta(seconds=10)
        )
        if wait_for_approval:
            await workflow.wait_condition(lambda: self.approved)
        return await workflow.execute_activity(
            place_order, args=[symbol, price], start_to_close_timeout=timedelta(seconds=10)
        )

    @workflow.signal
    def approve(self) -> None:
        self.approved = True
'''

HEADER = '''\
from long_session_workflows import Trade, fetch_quote, place_order

ACTIVITIES = [fetch_quote, place_order]
'''

#: Four kinds of test, in turn: plain, mocked activity, signal, mocked and signal.
TEST = '''

async def test_trade_{n}(temporal) -> None:
    symbol = "S{n}"
    {mock}
    handle = await temporal.start(Trade.run, args=[symbol, {signal}], activities=ACTIVITIES)
    {send}
    assert await handle.result() == {expected}
'''

CONFTEST = '''\
import json
import os
import time
from pathlib import Path

import pytest

OUT = Path(os.environ["LONG_SESSION_OUT"])
_state = {"last": None, "count": 0, "times": [], "rss": [], "own": []}


def _own_rss_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def _descendants(root):
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def _server_rss_kb():
    """RSS of the largest descendant process named temporal* (the server)."""
    best = 0
    for pid in _descendants(os.getpid()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        lines = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "temporal" in lines.get("Name", "") and "VmRSS" in lines:
            best = max(best, int(lines["VmRSS"].split()[0]))
    return best


def pytest_sessionstart(session):
    _state["last"] = time.perf_counter()


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    if report.when != "teardown":
        return
    now = time.perf_counter()
    _state["times"].append(now - _state["last"])
    _state["last"] = now
    _state["count"] += 1
    if _state["count"] % 100 == 0 or _state["count"] == 1:
        _state["rss"].append([_state["count"], _server_rss_kb()])
        _state["own"].append([
            _state["count"], len(os.listdir("/proc/self/fd")), len(os.listdir("/proc/self/task")),
            _own_rss_kb(),
        ])


def pytest_sessionfinish(session):
    if _state["rss"] and _state["rss"][-1][0] != _state["count"]:
        _state["rss"].append([_state["count"], _server_rss_kb()])
    OUT.write_text(json.dumps(_state))
'''


def write_tests(directory: Path, n: int) -> Path:
    (directory / "long_session_workflows.py").write_text(WORKFLOWS)
    (directory / "conftest.py").write_text(CONFTEST)
    parts = [HEADER]
    for i in range(n):
        mocked, signalled = i % 2 == 1, i % 4 >= 2
        price = "1.5" if mocked else f"{100 + len(f'S{i}')}.0"
        parts.append(TEST.format(
            n=i,
            mock="temporal.mock_activity(fetch_quote, returns=1.5)" if mocked else "pass",
            signal=signalled,
            send="await handle.signal(Trade.approve)" if signalled else "pass",
            expected=repr(f"bought S{i} at {price}"),
        ))
    path = directory / "test_long_session.py"
    path.write_text("".join(parts))
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    return path


def run_session(directory: Path, env: str, extra: list[str]) -> dict[str, Any]:
    out = directory / f"result-{env}.json"
    environ = dict(os.environ, LONG_SESSION_OUT=str(out))
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        f"--temporal-env={env}", *extra, "test_long_session.py",
    ]
    completed = subprocess.run(command, check=False, cwd=directory, env=environ, capture_output=True, text=True)
    if completed.returncode != 0:
        # A failure is part of the result (a long session that breaks is the finding): show
        # the summary, keep the timings.
        sys.stdout.write(completed.stdout[-3000:] + completed.stderr[-2000:])
        print(f"the {env} session failed (exit {completed.returncode})")
    if not out.exists():
        raise SystemExit(f"the {env} session wrote no timings")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def report(env: str, result: dict[str, Any]) -> None:
    times = [float(t) for t in result["times"]]
    hundred = min(100, len(times) // 2)
    first = statistics.median(times[:hundred]) * 1000
    last = statistics.median(times[-hundred:]) * 1000
    rss = [(int(c), int(kb)) for c, kb in result["rss"]]
    print(f"{env}: {len(times)} tests")
    print(f"  first {hundred} ... {first:.1f} ms per test (1.00x)")
    print(f"  last {hundred} ... {last:.1f} ms per test ({last / first:.2f}x)")
    steps = ", ".join(f"{c}: {kb / 1024:.0f}" for c, kb in rss)
    print(f"  server RSS MB after tests {steps}")
    own = ", ".join(
        f"{row[0]}: {row[1]}/{row[2]}/{int(row[3]) / 1024:.0f}"
        for row in result["own"]
    )
    print(f"  pytest process fds/threads/RSS MB after tests {own}")
    start, end = rss[0][1] / 1024, rss[-1][1] / 1024
    print(f"  server RSS start {start:.0f} MB, end {end:.0f} MB, growth {end - start:+.0f} MB")


def main(argv: list[str]) -> None:
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    envs = ["time-skipping", "local"]
    if "--env" in argv:
        at = argv.index("--env")
        envs = [argv[at + 1]]
        del argv[at:at + 2]
    n = int(argv[0]) if argv else 1000
    with tempfile.TemporaryDirectory(prefix="long-session-") as tmp:
        directory = Path(tmp)
        write_tests(directory, n)
        for env in envs:
            report(env, run_session(directory, env, extra))


if __name__ == "__main__":
    main(sys.argv[1:])
