"""The activity_env fixture: one activity, no server."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from textwrap import dedent

import pytest
from pytester_support import run_expecting
from temporalio import activity
from temporalio.exceptions import CancelledError
from trading_desk import download_prices

from pytest_temporal_agents import ActivityEnv, HarnessUsageError

#: download_prices (the how-to's activity that resumes from its last heartbeat) heartbeats
#: once per symbol: the first n symbols make n heartbeats.
SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "IBM", "ORCL", "INTC"]


@activity.defn
def download_in_thread(chunks: int) -> int:
    for done in range(1, chunks + 1):
        time.sleep(0.001)
        activity.heartbeat(done, "chunk")
        if activity.is_cancelled():
            raise CancelledError("stopped")
    return chunks


@activity.defn
async def wait_for_shutdown() -> str:
    activity.heartbeat()
    await activity.wait_for_worker_shutdown()
    return f"shutdown seen on attempt {activity.info().attempt}"


@activity.defn
def stamp() -> float:
    return time.time()


async def test_heartbeats_are_recorded(activity_env: ActivityEnv) -> None:
    assert await activity_env.run(download_prices, SYMBOLS[:3]) == 3
    assert activity_env.heartbeats == [1, 2, 3]
    assert activity_env.heartbeat_calls == [(1,), (2,), (3,)]


async def test_info_can_be_overridden_to_resume_from_heartbeat_details(activity_env: ActivityEnv) -> None:
    info = activity_env.set_info(attempt=2, heartbeat_details=[7])
    assert info.attempt == 2
    assert await activity_env.run(download_prices, SYMBOLS[:9]) == 9
    assert activity_env.heartbeats == [8, 9]
    with pytest.raises(HarnessUsageError, match=r"unknown field\(s\) 'atempt'. Valid fields: activity_id, "):
        activity_env.set_info(atempt=3)


async def test_cancel_at_a_heartbeat_of_an_async_activity(activity_env: ActivityEnv) -> None:
    activity_env.cancel(at_heartbeat=2)
    with pytest.raises(asyncio.CancelledError):
        await activity_env.run(download_prices, SYMBOLS)
    assert activity_env.heartbeats == [1, 2]
    assert activity_env.cancelled


async def test_cancel_at_a_heartbeat_of_a_sync_activity_in_its_thread(activity_env: ActivityEnv) -> None:
    activity_env.cancel(at_heartbeat=3)
    with pytest.raises(CancelledError):
        await activity_env.run(download_in_thread, 50)
    assert activity_env.heartbeats[:3] == [(1, "chunk"), (2, "chunk"), (3, "chunk")]
    assert len(activity_env.heartbeats) < 50


async def test_cancelled_before_it_starts(activity_env: ActivityEnv) -> None:
    activity_env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await activity_env.run(download_prices, SYMBOLS[:1])


async def test_worker_shutdown_at_a_heartbeat(activity_env: ActivityEnv) -> None:
    activity_env.shutdown(at_heartbeat=1)
    assert await activity_env.run(wait_for_shutdown) == "shutdown seen on attempt 1"
    assert activity_env.heartbeats == [None]


async def test_worker_shutdown_from_the_test(activity_env: ActivityEnv) -> None:
    task = asyncio.create_task(activity_env.run(wait_for_shutdown))
    while not activity_env.heartbeats:
        await asyncio.sleep(0)
    activity_env.shutdown()
    assert await task == "shutdown seen on attempt 1"


def test_run_sync_in_a_sync_test(activity_env: ActivityEnv) -> None:
    assert activity_env.run_sync(download_in_thread, 2) == 2
    assert activity_env.heartbeats == [(1, "chunk"), (2, "chunk")]
    with pytest.raises(HarnessUsageError, match=r"run_sync\(download_prices\) got an async activity"):
        activity_env.run_sync(download_prices, SYMBOLS[:1])


async def test_bad_heartbeat_numbers(activity_env: ActivityEnv) -> None:
    with pytest.raises(HarnessUsageError, match=r"cancel\(at_heartbeat=0\) needs a heartbeat number >= 1"):
        activity_env.cancel(at_heartbeat=0)


async def test_frozen_clock_reads_the_scheduled_time(activity_env: ActivityEnv) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with activity_env.freeze_clock(when):
        assert await activity_env.run(stamp) == when.timestamp()
        assert activity_env.info.current_attempt_scheduled_time == when
    assert abs(time.time() - await activity_env.run(stamp)) < 60


def test_the_fixture_releases_the_clock(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_env=dedent(
            """
            import time
            from datetime import datetime, timezone
            from temporalio import activity

            @activity.defn
            def stamp() -> float:
                return time.time()

            def test_freezes(activity_env):
                activity_env.freeze_clock(datetime(2001, 1, 1, tzinfo=timezone.utc))
                assert activity_env.run_sync(stamp) == 978307200.0

            def test_after(activity_env):
                assert activity_env.run_sync(stamp) > 1.6e9
            """
        )
    )
    run_expecting(project, passed=2)
