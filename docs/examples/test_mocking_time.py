"""Delayed signals and queries, single activities, the activity clock (docs/how-to/mocking.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pytest_temporal_agents import ActivityEnv, TemporalHarness
from trading_desk import OrderApproval, download_prices, stamp_trade


async def test_approval_two_hours_in(temporal: TemporalHarness) -> None:
    handle = await temporal.start(OrderApproval.run, "AAPL", activities=[stamp_trade])
    status_at_1h = await temporal.query_after(handle, OrderApproval.status, after=timedelta(hours=1))
    await temporal.signal_after(handle, OrderApproval.approve, "risk desk", after=timedelta(hours=2))

    assert (await handle.result()).endswith("approved by risk desk")
    assert await status_at_1h.result() == "waiting"


@pytest.mark.temporal(freeze_activity_clock=True)
async def test_the_ticket_carries_the_workflow_time(temporal: TemporalHarness) -> None:
    started = await temporal.now()
    handle = await temporal.start(OrderApproval.run, "MSFT", activities=[stamp_trade])
    await temporal.signal_after(handle, OrderApproval.approve, "ops", after=timedelta(hours=5))

    ticket = await handle.result()

    # Five hours of workflow time went by in milliseconds; the activity saw them.
    expected = (started + timedelta(hours=5)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    assert ticket == f"MSFT ticket at {expected}, approved by ops"


async def test_a_download_resumes_from_its_last_heartbeat(activity_env: ActivityEnv) -> None:
    activity_env.set_info(attempt=2, heartbeat_details=[2])  # attempt 1 got through two symbols

    assert await activity_env.run(download_prices, ["AAPL", "MSFT", "TSLA", "NVDA"]) == 4
    assert activity_env.heartbeats == [3, 4]


async def test_a_download_stops_when_cancelled(activity_env: ActivityEnv) -> None:
    activity_env.cancel(at_heartbeat=1)

    with pytest.raises(BaseException) as stopped:
        await activity_env.run(download_prices, ["AAPL", "MSFT"])
    assert type(stopped.value).__name__ == "CancelledError"
    assert activity_env.heartbeats == [1]


def test_a_ticket_at_a_fixed_time(activity_env: ActivityEnv) -> None:
    activity_env.freeze_clock(datetime(2030, 1, 2, 9, 30, tzinfo=timezone.utc))
    assert activity_env.run_sync(stamp_trade, "TSLA") == "TSLA ticket at 2030-01-02 09:30"
