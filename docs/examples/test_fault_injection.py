"""Injecting faults (docs/how-to/faults.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fault_desk import ORDERS, BuyDesk, fetch_quote, place_order
from hypothesis import given, settings
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, TimeoutError, TimeoutType

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import (
    EVERY_ATTEMPT,
    cancellation,
    error_of_type,
    heartbeat_timeout,
    retryable_error,
    start_to_close_timeout,
    worker_crash,
)
from pytest_temporal_agents.strategies import fault_plans

DESK = [fetch_quote, place_order]


async def test_a_flaky_exchange_is_retried(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=[1, 2], type="ExchangeUnavailable"))

    result = await temporal.run(BuyDesk.run, "AAPL", activities=DESK)

    assert result == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    temporal.assert_attempts(fetch_quote, failed=[1, 2], succeeded=3)


async def test_a_closed_market_is_not_retried(temporal: TemporalHarness) -> None:
    temporal.inject(error_of_type(fetch_quote, "MarketClosed"))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(BuyDesk.run, "AAPL", activities=DESK)

    error = failure.value.cause.cause
    assert isinstance(error, ApplicationError) and error.type == "MarketClosed"
    temporal.assert_attempts(fetch_quote, failed=[1], succeeded=None)


async def test_a_hung_exchange_times_out_in_a_fraction_of_a_second(temporal: TemporalHarness) -> None:
    temporal.inject(start_to_close_timeout(fetch_quote, attempts=[1]))  # 180 s in the workflow

    handle = await temporal.start(BuyDesk.run, "AAPL", activities=DESK)

    assert await handle.result() == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    [timed_out, _] = temporal.assert_attempts(fetch_quote, failed=[1], succeeded=2)
    assert timed_out.error == "START_TO_CLOSE timeout after 0.25 s"
    history = await temporal.history(handle)
    scheduled = history.events[4].activity_task_scheduled_event_attributes
    assert scheduled.start_to_close_timeout.ToTimedelta() == timedelta(milliseconds=250)


async def test_an_order_that_stops_heartbeating_fails_the_desk(temporal: TemporalHarness) -> None:
    temporal.inject(heartbeat_timeout(place_order, attempts=EVERY_ATTEMPT, shortened_to=0.1))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(BuyDesk.run, "AAPL", activities=DESK)

    timeout = failure.value.cause.cause
    assert isinstance(timeout, TimeoutError) and timeout.type is TimeoutType.HEARTBEAT


async def test_a_lost_order_confirmation_does_not_buy_twice(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(place_order, attempts=[1], after_running=True))

    handle = await temporal.start(BuyDesk.run, "AAPL", activities=DESK)

    assert await handle.result() == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    temporal.assert_attempts(place_order, failed=[1], succeeded=2)
    assert ORDERS[f"{handle.id}:buy"] == ["ord-AAPL-10"]  # placed once, though run twice


async def test_cancelling_while_the_order_is_placed(temporal: TemporalHarness) -> None:
    temporal.inject(cancellation(place_order))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(BuyDesk.run, "AAPL", activities=DESK)

    assert type(failure.value.cause).__name__ == "CancelledError"
    [attempt] = temporal.attempts(place_order)
    assert attempt.outcome == "cancelled"


async def test_the_desk_survives_a_worker_crash(temporal: TemporalHarness) -> None:
    async with temporal.isolated() as clean:
        expected = await clean.run(BuyDesk.run, "AAPL", activities=DESK)
    temporal.inject(worker_crash(after=fetch_quote))

    handle = await temporal.start(BuyDesk.run, "AAPL", activities=DESK)

    assert await handle.result() == expected
    [quote, order] = temporal.attempts()
    assert "(restarted after crash 1)" in order.worker and "restarted" not in quote.worker


async def test_the_history_shows_every_attempt(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=[1], type="ExchangeUnavailable"))
    handle = await temporal.start(BuyDesk.run, "AAPL", activities=DESK)
    await handle.result()

    timeline = (await temporal.history(handle)).timeline()

    assert "attempt 1: failed: injected retryable_error in fetch_quote attempt 1 [ExchangeUnavailable]" in timeline
    print(timeline)


@settings(max_examples=10)
@given(plan=fault_plans(activities=DESK, kinds=["retryable_error", "worker_crash"], max_attempt=2))
async def test_the_desk_buys_once_whatever_the_plan(temporal: TemporalHarness, plan: object) -> None:
    async with temporal.isolated() as t:
        t.inject(plan)
        handle = await t.start(BuyDesk.run, "AAPL", activities=DESK)
        assert await handle.result() == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
        assert ORDERS[f"{handle.id}:buy"] == ["ord-AAPL-10"]
