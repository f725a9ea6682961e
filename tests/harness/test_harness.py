"""The harness behind the ``temporal`` fixture, used directly on the time-skipping server."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError

from pytest_temporal_agents import HarnessUsageError, TemporalHarness, WorkflowTimeoutError
from sample_workflows import (
    GATE,
    GatedWorkflow,
    GenerationsWorkflow,
    Greeting,
    GreetingWorkflow,
    HangingActivityWorkflow,
    LongSleepWorkflow,
    ParentWorkflow,
    RetryingWorkflow,
    compose_greeting,
    flaky,
    hang_forever,
    wait_for_gate,
)
from trading_desk import OrderApproval, stamp_trade


async def test_run_starts_a_worker_and_returns_the_result(temporal: TemporalHarness) -> None:
    result = await temporal.run(GreetingWorkflow.run, Greeting("Ada", 2), activities=[compose_greeting])
    assert result == "Hello, Ada! Hello, Ada!"


async def test_thirty_days_of_sleep_complete_under_time_skipping(temporal: TemporalHarness) -> None:
    before = await temporal.now()
    result = await temporal.run(LongSleepWorkflow.run, "Grace", activities=[compose_greeting])
    assert result == "Hello, Grace!"
    assert await temporal.now() - before >= timedelta(days=30)
    history = await temporal.history(temporal.started_workflows[0])
    assert [t.duration for t in history.timers()] == [timedelta(days=30)]
    assert history.timers()[0].status == "fired"


async def test_sync_activities_get_a_thread_executor(temporal: TemporalHarness) -> None:
    # stamp_trade, which OrderApproval runs once approved, is a plain function.
    handle = await temporal.start(OrderApproval.run, "AAPL", activities=[stamp_trade])
    await handle.signal(OrderApproval.approve, "ops")
    ticket = await handle.result()
    assert re.fullmatch(r"AAPL ticket at \d{4}-\d\d-\d\d \d\d:\d\d, approved by ops", ticket), ticket


async def test_history_reports_activity_attempts(temporal: TemporalHarness) -> None:
    handle = await temporal.start(RetryingWorkflow.run, 2, activities=[flaky])
    assert await handle.result() == 3
    history = await temporal.history(handle)
    [record] = history.activities("flaky")
    assert (record.status, record.attempt) == ("completed", 3)
    assert history.status == "completed"
    assert "ActivityTaskScheduled" in history.timeline()


async def test_history_reports_a_final_failure(temporal: TemporalHarness) -> None:
    handle = await temporal.start(RetryingWorkflow.run, 10, activities=[flaky])
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    history = await temporal.history(handle)
    [record] = history.activities()
    assert record.status == "failed"
    assert record.attempt == 5
    assert record.failure_type == "Flaky"
    assert "attempt 5 failed on purpose" in (record.failure or "")
    assert history.status == "failed"


async def test_signals_queries_and_explicit_worker(temporal: TemporalHarness) -> None:
    async with temporal.worker(workflows=[OrderApproval], activities=[stamp_trade]):
        handle = await temporal.start(OrderApproval.run, "AAPL")
        assert await handle.query(OrderApproval.status) == "waiting"
        await handle.signal(OrderApproval.approve, "risk desk")
        assert (await handle.result()).endswith(", approved by risk desk")
    history = await temporal.history(handle)
    [signal] = history.signals()
    assert (signal.name, signal.input) == ("approve", '"risk desk"')


async def test_an_unanswered_wait_expires_in_workflow_time(temporal: TemporalHarness) -> None:
    assert await temporal.run(OrderApproval.run, "AAPL") == "AAPL: expired"


async def test_child_workflows_show_in_history(temporal: TemporalHarness) -> None:
    handle = await temporal.start(
        ParentWorkflow.run,
        "Lin",
        workflows=[ParentWorkflow, GreetingWorkflow],
        activities=[compose_greeting],
    )
    assert await handle.result() == "parent got: Hello, Lin!"
    [child] = (await temporal.history(handle)).children()
    assert (child.workflow_type, child.status) == ("GreetingWorkflow", "completed")


async def test_later_runs_extend_the_background_worker(temporal: TemporalHarness) -> None:
    assert await temporal.run(RetryingWorkflow.run, 0, activities=[flaky]) == 1
    greeting = await temporal.run(GreetingWorkflow.run, Greeting("Bo"), activities=[compose_greeting])
    assert greeting == "Hello, Bo!"
    assert {cls.__name__ for cls in temporal.registered_workflows} == {"RetryingWorkflow", "GreetingWorkflow"}


async def test_a_later_run_of_another_class_gets_it_registered(temporal: TemporalHarness) -> None:
    # Without workflows=, the class of the run method is what the worker needs; a worker
    # already polling without it used to be trusted, and the workflow task failed for ever.
    assert await temporal.run(RetryingWorkflow.run, 0, activities=[flaky]) == 1
    assert await temporal.run(GenerationsWorkflow.run, 3, start_signal="stop", timeout=timedelta(seconds=10)) == 3
    assert {c.__name__ for c in temporal.registered_workflows} == {"RetryingWorkflow", "GenerationsWorkflow"}


async def _strand_check(temporal: TemporalHarness) -> None:
    # The gated workflow is mid-activity when the greeting needs a worker with more
    # registered. Its next workflow task goes to the sticky queue of the worker that ran
    # it; replacing that worker stranded it there, on the time-skipping server for ever.
    # (An activity in flight, not a signal: waiting for the greeting lets time skip, and a
    # workflow waiting on a signal would run into its execution timeout.)
    GATE["open"] = False
    gated = await temporal.start(GatedWorkflow.run, activities=[wait_for_gate])
    while not [a for a in temporal._ctx.workers if a.background]:
        await asyncio.sleep(0.01)
    assert await temporal.run(GreetingWorkflow.run, Greeting("b"), activities=[compose_greeting]) == "Hello, b!"
    GATE["open"] = True
    assert await temporal.result(gated, timeout=timedelta(seconds=10)) == "through"


async def test_a_run_that_needs_more_does_not_strand_a_workflow_still_running(temporal: TemporalHarness) -> None:
    await _strand_check(temporal)
    # The greeting ran on a new queue of this test, with a worker that serves both.
    queues = {w.task_queue: {c.__name__ for c in w.workflows} for w in temporal._ctx.workers}
    assert queues == {
        temporal.task_queue: {"GatedWorkflow"},
        f"{temporal.task_queue}-2": {"GatedWorkflow", "GreetingWorkflow"},
    }
    # Later starts go there, and keep the worker they find.
    assert await temporal.run(GenerationsWorkflow.run, 7, start_signal="stop") == 7
    assert len(temporal._ctx.workers) == 2


@pytest.mark.temporal(env="local")
async def test_the_dev_server_too_serves_a_workflow_left_running_by_a_worker_change(temporal: TemporalHarness) -> None:
    await _strand_check(temporal)


async def test_each_test_has_its_own_queue_and_ids(temporal: TemporalHarness) -> None:
    first, second = temporal.new_workflow_id("x"), temporal.new_workflow_id("x")
    assert first != second
    assert first.startswith(temporal.id_prefix)
    assert "test-each-test-has-its-own-queue-and-ids" in temporal.task_queue


async def test_sleep_advances_server_time(temporal: TemporalHarness) -> None:
    before = await temporal.now()
    await temporal.sleep(timedelta(hours=5))
    assert await temporal.now() - before >= timedelta(hours=5)


async def test_run_needs_a_workflow_class(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="Pass workflows=\\[MyWorkflow\\]"):
        await temporal.run("GreetingWorkflow", Greeting("x"))


async def test_explicit_worker_and_registration_conflict(temporal: TemporalHarness) -> None:
    async with temporal.worker(workflows=[GreetingWorkflow], activities=[compose_greeting]):
        with pytest.raises(HarnessUsageError, match="already serves task queue"):
            await temporal.run(RetryingWorkflow.run, 0, activities=[flaky])


async def test_a_stuck_workflow_fails_with_a_diagnosis(temporal: TemporalHarness) -> None:
    handle = await temporal.start(HangingActivityWorkflow.run, activities=[hang_forever])
    with pytest.raises(WorkflowTimeoutError) as failure:
        await temporal.result(handle, timeout=timedelta(seconds=0.5))
    message = str(failure.value)
    assert "did not finish within 0.5 s of wall time" in message
    assert "- hang_forever (id 1): attempt 1" in message
    assert "ActivityTaskScheduled" in message
    assert "terminated when the test ends" in message
    await temporal.close()
    assert (await temporal.history(handle)).status == "terminated"


async def test_close_stops_workers_and_terminates_running_workflows(temporal: TemporalHarness) -> None:
    handle = await temporal.start(OrderApproval.run, "AAPL")
    await temporal.close()
    assert temporal._ctx.workers == []
    assert (await temporal.history(handle)).status == "terminated"


async def test_time_still_skips_after_tests_that_left_workflows_in_flight(temporal: TemporalHarness) -> None:
    """Runs after the two tests above: their teardown must not have stopped the clock."""
    result = await temporal.run(
        LongSleepWorkflow.run, "later", activities=[compose_greeting], timeout=timedelta(seconds=10)
    )
    assert result == "Hello, later!"


async def test_repeated_starts_with_the_same_registrations_keep_the_worker(temporal: TemporalHarness) -> None:
    first = await temporal.start(GreetingWorkflow.run, Greeting("a"), activities=[compose_greeting])
    [worker_before] = temporal._ctx.workers
    second = await temporal.start(GreetingWorkflow.run, Greeting("b"), activities=[compose_greeting])
    assert temporal._ctx.workers == [worker_before]
    assert [await first.result(), await second.result()] == ["Hello, a!", "Hello, b!"]
