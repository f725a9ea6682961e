"""Injected timeouts and cancellations: enforced by the server, fast, visible in history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fault_workflows import (
    AAPL,
    RUNS,
    CompensatingWorkflow,
    LocalQuoteWorkflow,
    QuoteWorkflow,
    SlowQuoteWorkflow,
    fetch_quote,
    slow_quote,
    step,
)
from temporalio.api.enums.v1 import TimeoutType
from temporalio.worker import Replayer

from pytest_temporal_agents import FaultWarning, TemporalHarness
from pytest_temporal_agents.faults import (
    EVERY_ATTEMPT,
    cancellation,
    heartbeat_timeout,
    schedule_to_close_timeout,
    start_to_close_timeout,
)


def _scheduled(history: object) -> object:
    [event] = [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]  # type: ignore[attr-defined]
    return event.activity_task_scheduled_event_attributes


async def test_a_start_to_close_timeout_is_the_servers_and_the_retry_runs_the_activity(
    temporal: TemporalHarness,
) -> None:
    temporal.inject(start_to_close_timeout(fetch_quote, attempts=[1]))
    handle = await temporal.start(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert await handle.result() == "price 104.0"
    [timed_out, _succeeded] = temporal.assert_attempts(fetch_quote, failed=[1], succeeded=2)
    assert (timed_out.outcome, timed_out.error) == ("timed_out", "START_TO_CLOSE timeout after 0.25 s")
    assert RUNS == {"fetch_quote": 1}
    history = await temporal.history(handle)
    # What the fault changes, visible in the history: the scheduled timeout (180 s in code).
    assert _scheduled(history).start_to_close_timeout.ToTimedelta() == timedelta(milliseconds=250)
    # And nothing a replay checks: the history replays without the fault interceptor.
    await Replayer(workflows=[QuoteWorkflow]).replay_workflow(history.raw)


async def test_every_attempt_timing_out_gives_the_workflow_a_start_to_close_timeout_error(
    temporal: TemporalHarness,
) -> None:
    temporal.inject(start_to_close_timeout(fetch_quote, attempts=EVERY_ATTEMPT, shortened_to=0.1))
    handle = await temporal.start(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert await handle.result() == "TimeoutError START_TO_CLOSE"
    [record] = (await temporal.history(handle)).activities()
    assert (record.status, record.failure_type) == ("timed_out", TimeoutType.Name(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE))
    temporal.assert_attempts(fetch_quote, failed=[1, 2, 3], succeeded=None)


async def test_a_heartbeat_timeout_and_a_healthy_attempt_kept_alive_under_it(temporal: TemporalHarness) -> None:
    temporal.inject(heartbeat_timeout(slow_quote, attempts=[1]))
    handle = await temporal.start(SlowQuoteWorkflow.run, AAPL, activities=[slow_quote])
    # Attempt 2 runs 0.4 s without heartbeating, under a 0.25 s heartbeat timeout:
    # the harness's keep-alive beats carry it.
    assert await handle.result() == "ok"
    [timed_out, _] = temporal.assert_attempts(slow_quote, failed=[1], succeeded=2)
    assert timed_out.error == "HEARTBEAT timeout after 0.25 s"
    assert _scheduled(await temporal.history(handle)).heartbeat_timeout.ToTimedelta() == timedelta(milliseconds=250)


async def test_heartbeat_timeouts_on_every_attempt_reach_the_workflow(temporal: TemporalHarness) -> None:
    temporal.inject(heartbeat_timeout(fetch_quote, attempts=EVERY_ATTEMPT, shortened_to=0.1))
    assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "TimeoutError HEARTBEAT"


async def test_a_schedule_to_close_timeout_ends_the_call(temporal: TemporalHarness) -> None:
    temporal.inject(schedule_to_close_timeout(fetch_quote, shortened_to=0.2))
    handle = await temporal.start(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert await handle.result() == "TimeoutError SCHEDULE_TO_CLOSE"
    assert _scheduled(await temporal.history(handle)).schedule_to_close_timeout.ToTimedelta() == timedelta(
        milliseconds=200
    )


async def test_a_healthy_attempt_slower_than_the_shortened_timeout_is_reported(temporal: TemporalHarness) -> None:
    temporal.inject(start_to_close_timeout(slow_quote, attempts=[1]))
    assert await temporal.run(SlowQuoteWorkflow.run, AAPL, activities=[slow_quote]) == "TimeoutError START_TO_CLOSE"
    # The server timed attempts 2 and 3 out; the worker still runs them to their end.
    while any(a.outcome == "running" for a in temporal.attempts(slow_quote)):
        await asyncio.sleep(0.02)
    with pytest.warns(FaultWarning) as caught:
        assert await temporal.verify() == []
    first, fix = str(caught[0].message).splitlines()
    assert first.startswith("slow_quote attempt 2 (no fault selects it) ran 0.4")
    assert first.endswith(
        "s, longer than the start-to-close timeout 0.25 s that a fault shortened the call to, "
        "so the server timed it out too."
    )
    assert fix == "Give that fault a longer shortened_to=, or select this attempt as well."


async def test_local_activities_time_out_under_the_shortened_timeout(temporal: TemporalHarness) -> None:
    temporal.inject(start_to_close_timeout(fetch_quote, attempts=EVERY_ATTEMPT, shortened_to=0.1))
    result = await temporal.run(LocalQuoteWorkflow.run, AAPL, activities=[fetch_quote])
    assert result.endswith("TimeoutError START_TO_CLOSE")


async def test_a_cancellation_cancels_the_workflow_during_the_attempt(temporal: TemporalHarness) -> None:
    temporal.inject(cancellation(fetch_quote))
    handle = await temporal.start(CompensatingWorkflow.run, AAPL, activities=[fetch_quote, step])
    assert await handle.result() == "CancelledError, compensated 70"
    [attempt] = temporal.attempts(fetch_quote)
    assert attempt.outcome == "cancelled"
    names = [e for e in (await temporal.history(handle)).timeline().split() if e.startswith(("Workflow", "Activity"))]
    assert names.index("WorkflowExecutionCancelRequested") < names.index("ActivityTaskCancelRequested")
    # The attempt acknowledged the cancellation before the workflow went on.
    assert names.index("ActivityTaskCanceled") < names.index("WorkflowExecutionCompleted")
