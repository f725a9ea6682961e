"""Injected errors on the real time-skipping server, the attempts they leave, and history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fault_workflows import (
    AAPL,
    RUNS,
    FanOutWorkflow,
    LocalQuoteWorkflow,
    QuoteWorkflow,
    SyncQuoteWorkflow,
    fetch_quote,
    fetch_quote_sync,
)

from pytest_temporal_agents import HarnessUsageError, TemporalHarness
from pytest_temporal_agents.faults import (
    EVERY_ATTEMPT,
    error_of_type,
    non_retryable_error,
    retryable_error,
    worker_crash,
)


async def test_retryable_errors_fail_the_named_attempts_then_the_activity_runs(temporal: TemporalHarness) -> None:
    temporal.inject(
        retryable_error(fetch_quote, attempts=[1, 2], type="ExchangeUnavailable", message="NYSE down", details=["NYSE"])
    )
    assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"
    attempts = temporal.assert_attempts(fetch_quote, failed=[1, 2], succeeded=3)
    assert [a.error for a in attempts] == ["NYSE down [ExchangeUnavailable]"] * 2 + [None]
    assert attempts[0].fault == retryable_error(
        fetch_quote, attempts=[1, 2], type="ExchangeUnavailable", message="NYSE down", details=["NYSE"]
    )
    assert attempts[0].args == (AAPL,)  # decoded to the declared type
    assert RUNS == {"fetch_quote": 1}  # the injected attempts never ran the activity


async def test_history_shows_every_attempt_though_the_server_keeps_only_the_last(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=[1], type="ExchangeUnavailable"))
    handle = await temporal.start(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    await handle.result()
    history = await temporal.history(handle)
    [record] = history.activities()
    assert (record.status, record.attempt) == ("completed", 2)
    assert [a.describe() for a in history.attempts()] == [  # type: ignore[attr-defined]
        ("attempt 1: failed: injected retryable_error in fetch_quote attempt 1 [ExchangeUnavailable] "
        "(injected retryable_error('fetch_quote', type='ExchangeUnavailable'))"),
        "attempt 2: succeeded",
    ]
    timeline = history.timeline()
    assert "ActivityTaskStarted         fetch_quote attempt 2" in timeline
    assert timeline.splitlines()[-3:] == [
        "  fetch_quote id=1:",
        ("    attempt 1: failed: injected retryable_error in fetch_quote attempt 1 [ExchangeUnavailable] "
        "(injected retryable_error('fetch_quote', type='ExchangeUnavailable'))"),
        "    attempt 2: succeeded",
    ]


async def test_a_non_retryable_error_ends_the_call_at_once(temporal: TemporalHarness) -> None:
    temporal.inject(non_retryable_error(fetch_quote, type="MarketClosed", message="closed"))
    result = await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert result == "ApplicationError MarketClosed non_retryable=True: closed"
    temporal.assert_attempts(fetch_quote, failed=[1], succeeded=None)


async def test_an_error_type_the_policy_lists_is_not_retried_and_others_are(temporal: TemporalHarness) -> None:
    temporal.inject(
        error_of_type(fetch_quote, "InsufficientFunds", where=lambda request: request.symbol == "AAPL"),
        error_of_type(fetch_quote, "Throttled", where=lambda request: request.symbol == "MSFT"),
    )
    result = await temporal.run(FanOutWorkflow.run, ["AAPL", "MSFT"], activities=[fetch_quote])
    assert result == [
        "AAPL: ApplicationError InsufficientFunds non_retryable=False: injected error_of_type in fetch_quote attempt 1",
        "MSFT: 104.0",
    ]
    temporal.assert_attempts(fetch_quote, where=lambda r: r.symbol == "AAPL", failed=[1], succeeded=None)
    temporal.assert_attempts(fetch_quote, where=lambda r: r.symbol == "MSFT", failed=[1], succeeded=2)


async def test_where_picks_the_calls_a_fault_hits(temporal: TemporalHarness) -> None:
    temporal.inject(
        non_retryable_error(fetch_quote, where=lambda request: request.symbol == "TSLA", type="Delisted")
    )
    result = await temporal.run(FanOutWorkflow.run, ["AAPL", "TSLA", "MSFT"], activities=[fetch_quote])
    assert result == [
        "AAPL: 104.0",
        "TSLA: ApplicationError Delisted non_retryable=True: injected non_retryable_error in fetch_quote attempt 1",
        "MSFT: 104.0",
    ]
    assert sorted((a.args[0].symbol, a.outcome) for a in temporal.attempts(fetch_quote)) == [
        ("AAPL", "succeeded"), ("MSFT", "succeeded"), ("TSLA", "failed"),
    ]


async def test_after_running_loses_a_result_the_activity_produced(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=[1], after_running=True))
    assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"
    assert RUNS == {"fetch_quote": 2}  # ran twice: the first result was lost
    temporal.assert_attempts(fetch_quote, failed=[1], succeeded=2)


async def test_every_attempt_exhausts_the_retry_policy(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=EVERY_ATTEMPT, type="Down"))
    result = await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert result == "ApplicationError Down non_retryable=False: injected retryable_error in fetch_quote attempt 3"
    temporal.assert_attempts(fetch_quote, failed=[1, 2, 3], succeeded=None)


async def test_next_retry_delay_overrides_the_backoff(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote, attempts=[1], next_retry_delay=timedelta(hours=3)))
    handle = await temporal.start(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert await handle.result() == "price 104.0"
    history = await temporal.history(handle)
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    scheduled = [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
    waited = started[0].event_time.ToDatetime() - scheduled[0].event_time.ToDatetime()
    assert timedelta(hours=3) <= waited < timedelta(hours=4)  # workflow time, skipped at once


async def test_faults_apply_to_mocked_activities_too(temporal: TemporalHarness) -> None:
    mock = temporal.mock_activity(fetch_quote, returns=7.5)
    temporal.inject(retryable_error(fetch_quote, attempts=[1, 2]))
    assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 7.5"
    assert mock.call_count == 1  # the injected attempts never reached the mock
    temporal.assert_attempts(fetch_quote, failed=[1, 2], succeeded=3)
    assert RUNS == {}


async def test_sync_activities_get_the_same_faults(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(fetch_quote_sync, attempts=[1], type="Blip"))
    assert await temporal.run(SyncQuoteWorkflow.run, AAPL, activities=[fetch_quote_sync]) == "price 204.0"
    temporal.assert_attempts(fetch_quote_sync, failed=[1], succeeded=2)


async def test_local_activities_get_injected_errors(temporal: TemporalHarness) -> None:
    temporal.inject(non_retryable_error(fetch_quote, type="Local"))
    result = await temporal.run(LocalQuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert result.endswith("ApplicationError Local non_retryable=True: injected non_retryable_error in fetch_quote attempt 1")


# No workflow runs here, so the faults never fire (test_faults_reporting checks that warning).
@pytest.mark.filterwarnings("ignore::pytest_temporal_agents.FaultWarning")
async def test_inject_returns_everything_injected_and_refuses_late_crashes(temporal: TemporalHarness) -> None:
    plan = temporal.inject(retryable_error(fetch_quote))
    assert plan == temporal.inject(non_retryable_error(fetch_quote, attempts=[2]))[:1]
    assert len(temporal.injected_faults) == 2
    async with temporal.worker(workflows=[QuoteWorkflow], activities=[fetch_quote]):
        with pytest.raises(HarnessUsageError) as caught:
            temporal.inject(worker_crash(after=fetch_quote))
    assert str(caught.value).splitlines()[0] == (
        f"temporal.inject(worker_crash(after='fetch_quote')) came after a worker of this test started "
        f"({temporal.task_queue!r})."
    )
