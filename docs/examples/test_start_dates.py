"""Running a workflow "on" a chosen date (docs/how-to/start-time.md)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from month_end import MonthEndRebalance

from pytest_temporal_agents import TemporalHarness


@pytest.mark.temporal(start_time=datetime(2024, 1, 31, 15, 0, tzinfo=timezone.utc))
async def test_on_the_last_business_day_it_rebalances_at_the_close(temporal: TemporalHarness) -> None:
    assert await temporal.run(MonthEndRebalance.run) == (
        "started 2024-01-31 15:00, rebalanced Wednesday 2024-01-31 21:00"
    )


@pytest.mark.temporal(start_time=datetime(2024, 3, 30, 12, 0, tzinfo=timezone.utc))
async def test_after_the_close_it_waits_for_next_month(temporal: TemporalHarness) -> None:
    # Saturday 30 March: March's last business day was Friday the 29th.
    assert await temporal.run(MonthEndRebalance.run) == (
        "started 2024-03-30 12:00, rebalanced Tuesday 2024-04-30 21:00"
    )


@pytest.mark.temporal(start_time=datetime(2030, 6, 28, 9, 30, tzinfo=timezone.utc))
async def test_a_date_in_the_future_works_too(temporal: TemporalHarness) -> None:
    assert (await temporal.now()).date().isoformat() == "2030-06-28"
    assert (await temporal.run(MonthEndRebalance.run)).endswith("rebalanced Friday 2030-06-28 21:00")
