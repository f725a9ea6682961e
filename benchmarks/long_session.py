"""Flat cost over a long session: does the N-th test cost what the first did?

Writes a test file of N small but realistic tests that use the ``temporal`` fixture (a
workflow with two activities; every other test mocks one of them, every fourth sends a
signal), then runs ``python -m pytest`` on it once per server kind the plugin starts (the
time-skipping server, the default, and the dev server, ``--temporal-env=local``), each in a
subprocess: the **long** session.

A shared machine's speed drifts over minutes by more than the growth this looks for (the
same first hundred tests measured 33 to 58 ms per test in consecutive runs here), so the
long session's first and last hundred are not compared with each other alone. Beside it, in
lockstep, **fresh** sessions run the file's first hundred tests again and again, each in a
new pytest process with a new server: the two processes pass a baton through a pair of
FIFOs, so that exactly one test runs at a time, alternating between them. Each hundred of
the long session is compared with the fresh hundred that ran at the same time; the figure is
that ratio for the last hundred over the ratio for the first.

A small conftest times each test from the start of its ``pytest_runtest_protocol`` to its
end (setup, call, teardown, and the plugin's hooks around them; not the wait for the baton),
and records every 100 tests the resident memory (RSS, from /proc) of the Temporal server the
long session runs (the pytest process's descendant named ``temporal*``).

Prints per server kind: the median cost of each hundred tests in both sessions, the ratio
for the first and the last hundred, the growth ratio, and the server's RSS over the session.

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
import select
import time
from pathlib import Path

import pytest

OUT = Path(os.environ["LONG_SESSION_OUT"])
#: The baton: read one byte from BATON_IN before a test, write one to BATON_OUT after it.
BATON_IN = os.environ.get("LONG_SESSION_BATON_IN")
BATON_OUT = os.environ.get("LONG_SESSION_BATON_OUT")
BATON_WAIT = 300.0  # seconds: the other session died; go on alone rather than hang
_state = {"count": 0, "times": [], "rss": [], "own": [], "alone": 0}
_fds = {}


def _fd(path):
    if path not in _fds:
        _fds[path] = os.open(path, os.O_RDWR)  # read-write: opening never blocks
    return _fds[path]


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


def _sample(count):
    _state["rss"].append([count, _server_rss_kb()])
    _state["own"].append([
        count, len(os.listdir("/proc/self/fd")), len(os.listdir("/proc/self/task")), _own_rss_kb(),
    ])


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    # Before the fixtures' teardown: the server this test ran on, even if the plugin
    # replaces it at the end of this test.
    done = _state["count"] + 1
    if done % 100 == 0 or done == 1:
        _sample(done)
    yield


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if BATON_IN:
        ready, _, _ = select.select([_fd(BATON_IN)], [], [], BATON_WAIT)
        if ready:
            os.read(_fd(BATON_IN), 1)
        else:
            _state["alone"] += 1
    began = time.perf_counter()
    yield
    _state["times"].append(time.perf_counter() - began)
    _state["count"] += 1
    if BATON_OUT:
        os.write(_fd(BATON_OUT), b".")


def pytest_sessionfinish(session):
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
    # The fresh sessions' file: the first hundred tests (all four kinds, as every hundred).
    (directory / "test_fresh_session.py").write_text("".join(parts[:1 + min(100, n)]))
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    return path


def _pytest(directory: Path, env: str, extra: list[str], test_file: str, environ: dict[str, str]) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        f"--temporal-env={env}", *extra, test_file,
    ]
    # Output to a file, not a pipe: a pipe nobody reads while the other session runs fills up.
    with open(Path(environ["LONG_SESSION_OUT"]).with_suffix(".log"), "w") as log:
        return subprocess.Popen(command, cwd=directory, env=environ, stdout=log, stderr=subprocess.STDOUT, text=True)


def _result(process: subprocess.Popen[str], out: Path, what: str) -> dict[str, Any]:
    if process.returncode != 0:
        # A failure is part of the result (a long session that breaks is the finding): show
        # the summary, keep the timings.
        sys.stdout.write(out.with_suffix(".log").read_text()[-3000:])
        print(f"the {what} failed (exit {process.returncode})")
    if not out.exists():
        raise SystemExit(f"the {what} wrote no timings")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run_sessions(directory: Path, env: str, n: int, extra: list[str]) -> tuple[dict[str, Any], list[float]]:
    """The long session's result, and the times of the fresh sessions' tests run beside it."""
    to_long, to_fresh = directory / f"baton-long-{env}", directory / f"baton-fresh-{env}"
    for fifo in (to_long, to_fresh):
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
    # Held open here for the whole run: a baton written while no session has the FIFO open
    # (a fresh session starting) waits in it instead of being lost.
    held = [os.open(fifo, os.O_RDWR) for fifo in (to_long, to_fresh)]
    try:
        out = directory / f"result-long-{env}.json"
        long = _pytest(directory, env, extra, "test_long_session.py", dict(
            os.environ, LONG_SESSION_OUT=str(out),
            LONG_SESSION_BATON_IN=str(to_long), LONG_SESSION_BATON_OUT=str(to_fresh),
        ))
        os.write(held[0], b".")  # the long session's first test goes first
        fresh_times: list[float] = []
        hundred = min(100, n)
        for session in range((n + hundred - 1) // hundred):
            fresh_out = directory / f"result-fresh-{env}-{session}.json"
            fresh = _pytest(directory, env, extra, "test_fresh_session.py", dict(
                os.environ, LONG_SESSION_OUT=str(fresh_out),
                LONG_SESSION_BATON_IN=str(to_fresh), LONG_SESSION_BATON_OUT=str(to_long),
            ))
            fresh.wait()
            fresh_times += [float(t) for t in _result(fresh, fresh_out, f"fresh {env} session {session + 1}")["times"]]
        long.wait()
        return _result(long, out, f"long {env} session"), fresh_times[:n]
    finally:
        for fd in held:
            os.close(fd)


def report(env: str, result: dict[str, Any], fresh_times: list[float]) -> None:
    times = [float(t) for t in result["times"]]
    hundred = min(100, len(times) // 2)
    starts = range(0, min(len(times), len(fresh_times)) - hundred + 1, hundred)
    long_ms = [statistics.median(times[k:k + hundred]) * 1000 for k in starts]
    fresh_ms = [statistics.median(fresh_times[k:k + hundred]) * 1000 for k in starts]
    print(f"{env}: {len(times)} tests in the long session, {len(fresh_times)} in fresh sessions of {hundred} beside it")
    print(f"  ms per test, median of each {hundred}, long : {', '.join(f'{ms:.0f}' for ms in long_ms)}")
    print(f"  ms per test, median of each {hundred}, fresh: {', '.join(f'{ms:.0f}' for ms in fresh_ms)}")
    first, last = long_ms[0] / fresh_ms[0], long_ms[-1] / fresh_ms[-1]
    print(f"  first {hundred}: long {long_ms[0]:.1f} ms, fresh {fresh_ms[0]:.1f} ms ({first:.2f}x)")
    print(f"  last {hundred}: long {long_ms[-1]:.1f} ms, fresh {fresh_ms[-1]:.1f} ms ({last:.2f}x)")
    print(f"  last {hundred} against first {hundred}, each against fresh beside it ... ({last / first:.2f}x)")
    print(f"  last {hundred} against first {hundred}, long session alone (drift included) ... ({long_ms[-1] / long_ms[0]:.2f}x)")
    if result.get("alone"):
        print(f"  {result['alone']} tests ran without the baton (the other session had ended)")
    rss = [(int(c), int(kb)) for c, kb in result["rss"]]
    steps = ", ".join(f"{c}: {kb / 1024:.0f}" for c, kb in rss)
    print(f"  server RSS MB after tests {steps}")
    own = ", ".join(
        f"{row[0]}: {row[1]}/{row[2]}/{int(row[3]) / 1024:.0f}"
        for row in result["own"]
    )
    print(f"  pytest process fds/threads/RSS MB after tests {own}")
    sizes = [kb / 1024 for _, kb in rss if kb]
    start, peak = sizes[0], max(sizes)
    print(f"  server RSS start {start:.0f} MB, peak {peak:.0f} MB, growth {peak - start:+.0f} MB")


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
            report(env, *run_sessions(directory, env, n, extra))


if __name__ == "__main__":
    main(sys.argv[1:])
