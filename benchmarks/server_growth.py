"""Does a test on a time-skipping server that already ran many tests cost more than on a fresh one?

``long_session.py`` compares a session's last hundred tests with its first hundred, minutes
apart; on a shared machine, its speed drifts by more than the growth it looks for. Here the
same test (``overhead.py``'s ``fixture`` test: a harness, the two-activity workflow, the replay
check and the clock check) runs on three servers in one process, in turn, so that drift hits
all three alike:

- ``fresh``: a server replaced every hundred tests: what a test costs early in a session;
- ``kept``: one server for the whole run, as a hand-written session fixture keeps it;
- ``pool``: the plugin's :class:`ServerPool`, which replaces its server every
  ``SERVER_TESTS`` tests (its restart counted in the test that triggered it).

Prints, per hundred tests, the median cost on each and the ``kept`` and ``pool`` ratios to
``fresh``, then the last hundred's ratios.

Usage: python benchmarks/server_growth.py [N]   (default N=1000)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from pytest_temporal_agents import TemporalHarness, find_binary
from pytest_temporal_agents.servers import ServerConfig, ServerPool, quiet_runtime, stop_environment
from pytest_temporal_agents.servers._pool import SERVER_TESTS

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]
from overhead import check_clock  # the pool's clock check, on a server the pool does not own
from replay_workflows import ACTIVITIES, TwoStep

HUNDRED = 100


async def one_test(env: WorkflowEnvironment) -> None:
    temporal = TemporalHarness(env, test_id="benchmarks/server_growth.py::test_two_steps")
    try:
        assert await temporal.run(TwoStep.run, "AAPL", activities=ACTIVITIES) == "filled AAPL"
        assert not await temporal.verify()
    finally:
        await temporal.close()


async def start() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("time-skipping")), runtime=quiet_runtime()
    )


async def main(n: int) -> None:
    fresh, kept = await start(), await start()
    pool, config = ServerPool(), ServerConfig()
    timings: dict[str, list[float]] = {"fresh": [], "kept": [], "pool": []}

    async def on_pool() -> None:
        await one_test(await pool.get(config))
        assert await pool.check_clock(config, after="test_two_steps")

    try:
        for _ in range(3):  # warm-up: sandbox caches, connections
            await one_test(fresh)
            await one_test(kept)
            await on_pool()
        for index in range(n):
            if index and index % HUNDRED == 0:
                await stop_environment(fresh)
                fresh = await start()
                await one_test(fresh)  # its first test, as the pool's restart is not in it
            for name, test in (
                ("fresh", lambda env=fresh: one_test(env)),
                ("kept", lambda env=kept: one_test(env)),
                ("pool", on_pool),
            ):
                began = time.perf_counter()
                await test()
                if name != "pool":
                    await check_clock(fresh if name == "fresh" else kept)
                timings[name].append(time.perf_counter() - began)
    finally:
        await stop_environment(fresh)
        await stop_environment(kept)
        pool.shutdown()

    print(f"{n} tests on each server, in turn; median ms per test of each hundred (pool: a fresh server every {SERVER_TESTS} tests):")
    for start_at in range(0, n - HUNDRED + 1, HUNDRED):
        fresh_ms, kept_ms, pool_ms = (
            statistics.median(timings[name][start_at : start_at + HUNDRED]) * 1000 for name in ("fresh", "kept", "pool")
        )
        print(
            f"  tests {start_at + 1:4d}-{start_at + HUNDRED:4d}: fresh {fresh_ms:5.1f}  kept {kept_ms:5.1f} ({kept_ms / fresh_ms:.2f}x)"
            f"  pool {pool_ms:5.1f} ({pool_ms / fresh_ms:.2f}x)"
        )
    fresh_ms, kept_ms, pool_ms = (statistics.median(timings[name][-HUNDRED:]) * 1000 for name in ("fresh", "kept", "pool"))
    pool_mean = statistics.fmean(timings["pool"]) * 1000
    fresh_mean = statistics.fmean(timings["fresh"]) * 1000
    print(f"last {HUNDRED}, kept server against a fresh one : {kept_ms / fresh_ms:.2f}x")
    print(f"last {HUNDRED}, the pool's against a fresh one   : {pool_ms / fresh_ms:.2f}x")
    print(f"all {n}, mean, pool's (restarts included) against fresh: {pool_mean / fresh_mean:.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
