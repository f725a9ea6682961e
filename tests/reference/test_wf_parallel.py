"""The parallel pattern on a real server: concurrent fetches, partial failures collected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reference_fixtures import FAST_RETRY, TradingDesk, invalid_input_messages, pinned_inputs
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from reference_workflows.market import EXCHANGE_UNAVAILABLE, INVALID_MARKET_DATA_REQUEST
from reference_workflows.workflows.parallel import (
    ParallelMarketDataInput,
    ParallelMarketDataResult,
    ParallelMarketDataWorkflow,
)
from reference_workflows.workflows.trading import (
    INSUFFICIENT_MARKET_SOURCES,
)

ACTIVITY = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
}


fetch = pinned_inputs(ParallelMarketDataInput, "AAPL")


async def test_every_exchange_answers(desk: TradingDesk) -> None:
    result: ParallelMarketDataResult = await desk.run(ParallelMarketDataWorkflow.run, fetch())

    assert [s.exchange for s in result.snapshots] == ["NYSE", "NASDAQ", "LSE"]
    assert result.failures == []
    assert all(
        s.bars == 60 and s.period_low <= s.last_price <= s.period_high for s in result.snapshots
    )
    assert (
        result.most_liquid_exchange
        == max(result.snapshots, key=lambda s: s.average_volume).exchange
    )
    assert result.average_last_price == pytest.approx(result.snapshots[0].last_price)
    # All three fetches were in flight together: scheduled before any of them started.
    events = [e.event_type for e in (await desk.history()).events if e.event_type in ACTIVITY]
    assert events[:3] == [EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] * 3


async def test_a_down_exchange_and_an_unknown_one_are_collected_not_fatal(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(down_exchanges=["NASDAQ"])
    result: ParallelMarketDataResult = await desk.run(
        ParallelMarketDataWorkflow.run, fetch(exchanges=["NYSE", "NASDAQ", "MOON"])
    )

    assert [s.exchange for s in result.snapshots] == ["NYSE"]
    assert [(f.exchange, f.error_type) for f in result.failures] == [
        ("NASDAQ", EXCHANGE_UNAVAILABLE),
        ("MOON", INVALID_MARKET_DATA_REQUEST),
    ]
    assert "can be retried" in result.failures[0].message
    assert "'MOON' is not supported" in result.failures[1].message
    # The down exchange was retried to the policy's limit; the unknown one was not retried.
    attempts = {a.failure_type: a.attempt for a in (await desk.history()).activities()}
    assert attempts == {
        None: 1,
        EXCHANGE_UNAVAILABLE: FAST_RETRY.maximum_attempts,
        INVALID_MARKET_DATA_REQUEST: 1,
    }


async def test_too_few_sources_fail_with_every_exchange_named(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(down_exchanges=["NYSE", "LSE"])

    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(ParallelMarketDataWorkflow.run, fetch(min_sources=2))

    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == INSUFFICIENT_MARKET_SOURCES
    assert error.non_retryable
    assert "only 1 of 3 exchanges answered for 'AAPL', 2 needed" in str(error)
    assert "NYSE: ExchangeUnavailable" in str(error) and "LSE: ExchangeUnavailable" in str(error)


async def test_inputs_that_cannot_work_fail_at_once(desk: TradingDesk) -> None:
    cases = [{"exchanges": []}, {"exchanges": ["NYSE", "nyse"]}, {"min_sources": 4}]
    messages = await invalid_input_messages(
        desk, ParallelMarketDataWorkflow.run, [fetch(**fields) for fields in cases]
    )

    assert messages == [
        "exchanges=[]; list each exchange once",
        "exchanges=['NYSE', 'nyse']; list each exchange once",
        "min_sources=4 must be between 1 and 3",
    ]
