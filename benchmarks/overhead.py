"""Per-test cost of the ``temporal`` fixture against hand-written SDK test code.

Runs N identical small workflow tests several ways in one process, on one time-skipping
server, in blocks of five tests of one kind, the kinds alternating block by block so that
warm-up and machine noise hit all alike (the figure is the median block's time per test):

- ``sdk``: what the SDK samples do: a uuid task queue, ``async with Worker(...)``,
  ``client.execute_workflow(...)``;
- ``fixture``: what a test with the ``temporal`` fixture does: a new
  :class:`TemporalHarness` (own task queue, recording client), ``temporal.run(...)``,
  then the fixture's teardown (``verify()``, which by default replays the workflow's
  history in a fresh interpreter, and ``close()``) and the plugin's check of the
  time-skipping server's clock after the test; once more with the replay check off,
  to show what that check costs;
- ``later``: the default as the plugin runs it without xdist: the replay check is left
  running at teardown (``verify(defer_replay=True)``) and collected after the next test,
  which waits for the previous test's check at its end (``harness/_report_later.py``);
- ``floor``: the same workflow on one SDK worker started once for the whole run: what is
  left of a test when no worker starts or stops at all, the floor of any harness that
  reused one worker across tests (the server's round trips for the workflow's tasks).

The workflow is ``replay.py``'s two-activity ``TwoStep`` (``replay_workflows.py``, which
builds on the replay tests' workflows): the sandbox re-imports a workflow's module for every
run, so a workflow defined in this script would make the SDK side pay for importing the
plugin on every run.

Usage: python benchmarks/overhead.py [N]   (default N=100)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pytest_temporal_agents import TemporalHarness, find_binary
from pytest_temporal_agents.replay import ReplayCheck
from pytest_temporal_agents.servers import quiet_runtime, stop_environment
from pytest_temporal_agents.servers._clock_probe import time_still_skips

HERE = Path(__file__).resolve().parent
# replay_workflows.py here, and the replay tests' workflows it builds on.
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]
from replay_workflows import ACTIVITIES, TwoStep


async def sdk_test(env: WorkflowEnvironment) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[TwoStep], activities=ACTIVITIES
    ):
        result = await env.client.execute_workflow(
            TwoStep.run, "AAPL", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == "filled AAPL"


async def floor_test(env: WorkflowEnvironment, task_queue: str) -> None:
    result = await env.client.execute_workflow(
        TwoStep.run, "AAPL", id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    assert result == "filled AAPL"


async def fixture_test(env: WorkflowEnvironment, replay_check: bool = True) -> None:
    temporal = TemporalHarness(env, test_id="benchmarks/overhead.py::test_two_steps")
    temporal.replay_check = replay_check
    try:
        result = await temporal.run(TwoStep.run, "AAPL", activities=ACTIVITIES)
        assert result == "filled AAPL"
        assert not await temporal.verify()
    finally:
        await temporal.close()
    await check_clock(env)


async def check_clock(env: WorkflowEnvironment) -> None:
    """What the plugin does on the time-skipping server after each test that started a
    workflow (``ServerPool.check_clock``): the clock probe, then the clock's distance."""
    skips, _ = await asyncio.gather(time_still_skips(env.client), env.get_current_time())
    assert skips


#: The replay check the previous ``later`` test left running.
HELD: list[ReplayCheck] = []


async def later_test(env: WorkflowEnvironment) -> None:
    """The default as the plugin runs it in one process: this test's replay is collected
    after the next test ran (harness/_report_later.py), the previous one's at its end."""
    temporal = TemporalHarness(env, test_id="benchmarks/overhead.py::test_two_steps")
    try:
        result = await temporal.run(TwoStep.run, "AAPL", activities=ACTIVITIES)
        assert result == "filled AAPL"
        assert not await temporal.verify(defer_replay=True)
    finally:
        await temporal.close()
    await check_clock(env)
    collect_held()
    assert temporal.deferred_replay is not None, "the replay check was not deferred"
    HELD.append(temporal.deferred_replay)


def collect_held() -> None:
    while HELD:
        problems = HELD.pop().wait()
        assert not problems, problems


#: Tests of one side run back to back, as in a session, so that a ``later`` test's replay
#: overlaps the next ``later`` test (and not another side's); the sides alternate block by
#: block, so that warm-up and machine noise hit all alike.
BLOCK = 5


async def main(n: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    timings: dict[str, list[float]] = {"sdk": [], "fixture": [], "later": [], "no-replay": [], "floor": []}
    floor_queue = f"tq-floor-{uuid.uuid4()}"
    try:
        async with Worker(
            env.client, task_queue=floor_queue, workflows=[TwoStep], activities=ACTIVITIES
        ):
            for _ in range(3):  # warm-up: sandbox caches, connections
                await sdk_test(env)
                await fixture_test(env)
                await later_test(env)
                await floor_test(env, floor_queue)
            for _ in range(max(1, n // BLOCK)):
                for name, test in (
                    ("sdk", sdk_test),
                    ("fixture", fixture_test),
                    ("later", later_test),
                    ("no-replay", lambda env: fixture_test(env, replay_check=False)),
                    ("floor", lambda env: floor_test(env, floor_queue)),
                ):
                    start = time.perf_counter()
                    for _ in range(BLOCK):
                        await test(env)
                    collect_held()  # the block's last test waits for its own replay
                    timings[name].append((time.perf_counter() - start) / BLOCK)
    finally:
        await stop_environment(env)
    sdk_ms, fixture_ms, later_ms, bare_ms, floor_ms = (
        statistics.median(timings[name]) * 1000 for name in ("sdk", "fixture", "later", "no-replay", "floor")
    )
    print(f"{len(timings['sdk']) * BLOCK} tests each, median over blocks of {BLOCK} of the time per test, one time-skipping server:")
    print(f"  hand-written SDK                      : {sdk_ms:7.1f} ms")
    print(f"  temporal fixture, replay check off    : {bare_ms:7.1f} ms  ({bare_ms / sdk_ms:.2f}x)")
    print(f"  temporal fixture (default: replay on) : {fixture_ms:7.1f} ms  ({fixture_ms / sdk_ms:.2f}x)")
    print(f"  default, replay checked by next test  : {later_ms:7.1f} ms  ({later_ms / sdk_ms:.2f}x)")
    print(f"  floor: one worker kept for every test : {floor_ms:7.1f} ms  ({floor_ms / sdk_ms:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
