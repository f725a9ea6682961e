"""Replay throughput: the plugin's replay path against the SDK's ``Replayer`` directly.

Records N histories (a mix of a 17-event and a 25-40-event workflow, with child workflows),
on the time-skipping server, into a temporary directory, then replays all of them from
their files, in one process, both ways, alternating rounds so that warm-up and machine
noise hit both alike:

- ``sdk``: ``WorkflowHistory.from_json`` for each file, then one
  ``Replayer(workflows=...).replay_workflows(...)`` over all of them;
- ``ours``: ``replay_files(directory, workflows)``: what the pytest items for
  ``temporal_replay_paths`` and ``python -m pytest_temporal_agents replay`` run (reading,
  checking each history before the SDK sees it, one replayer for all, a result each).

Usage: python benchmarks/replay.py [N] [ROUNDS]   (default N=300, ROUNDS=5)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
# replay_workflows.py here, and the replay tests' workflows it builds on.
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]

from replay_workflows import ACTIVITIES, WORKFLOWS, Pricer, TwoStep
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from pytest_temporal_agents import find_binary, replay_files, save_history_file
from pytest_temporal_agents import History
from pytest_temporal_agents.servers import quiet_runtime, stop_environment

SYMBOLS = ["AAPL", "MSFT", "NVDA", "GOOG", "AMZN"]


async def record(directory: Path, count: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )
    try:
        async with Worker(env.client, task_queue="bench", workflows=WORKFLOWS, activities=ACTIVITIES):
            for n in range(count):
                if n % 2:
                    handle = await env.client.start_workflow(TwoStep.run, SYMBOLS[n % 5], id=f"two-{n}", task_queue="bench")
                else:
                    symbols = SYMBOLS[: 1 + n % 3]
                    handle = await env.client.start_workflow(Pricer.run, symbols, id=f"pricer-{n}", task_queue="bench")
                await handle.result()
                save_history_file(History(await handle.fetch_history()), directory / f"{n:04d}.json")
    finally:
        await stop_environment(env)


async def sdk(files: list[Path]) -> None:
    histories = []
    for file in files:
        data = json.loads(file.read_text())
        histories.append(WorkflowHistory.from_json(data["workflowId"], data))

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await Replayer(workflows=WORKFLOWS, runtime=RUNTIME).replay_workflows(
        feed(), raise_on_replay_failure=False
    )
    assert not results.replay_failures


async def ours(directory: Path) -> None:
    results = await replay_files([directory], WORKFLOWS)
    assert all(r.ok for r in results), [r.headline for r in results if not r.ok]


def timed(factory) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    asyncio.run(factory())
    return time.perf_counter() - started


RUNTIME = quiet_runtime()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        asyncio.run(record(directory, count))
        files = sorted(directory.glob("*.json"))
        print(f"recorded {len(files)} histories in {time.perf_counter() - started:.1f} s")
        timed(lambda: sdk(files[:10]))  # warm-up: imports, the runtime, the sandbox's caches
        timed(lambda: ours(directory))
        sdk_times, our_times = [], []
        for _ in range(rounds):
            sdk_times.append(timed(lambda: sdk(files)))
            our_times.append(timed(lambda: ours(directory)))
        # Noise on a shared machine only ever adds time: the best round is the cleanest figure.
        for label, times in (("sdk  Replayer.replay_workflows", sdk_times), ("ours replay_files", our_times)):
            rounds_text = ", ".join(f"{t:.2f}s" for t in times)
            print(
                f"{label:<31} {len(files) / min(times):6.1f} histories/s best, "
                f"{len(files) / statistics.median(times):6.1f} median  (rounds: {rounds_text})"
            )
        print(
            f"ratio ours/sdk: {min(sdk_times) / min(our_times):.3f} best, "
            f"{statistics.median(sdk_times) / statistics.median(our_times):.3f} median "
            "(1.0 = as fast; within 10% means >= 0.90)"
        )


if __name__ == "__main__":
    main()
