"""Worker crashes: a fresh worker resumes the workflow from history, with the same result."""

from __future__ import annotations

from fault_workflows import (
    AAPL,
    FanOutWorkflow,
    RemoteQuoteWorkflow,
    StepsWorkflow,
    SyncQuoteWorkflow,
    fetch_quote,
    fetch_quote_sync,
    step,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollActivityTaskQueueRequest

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import retryable_error, worker_crash
from pytest_temporal_agents.faults._crash import fail_orphaned_attempts

RESTARTED = "(restarted after crash"


def _task_workers(history: object) -> list[str]:
    return [
        e.workflow_task_started_event_attributes.identity
        for e in history.events  # type: ignore[attr-defined]
        if e.HasField("workflow_task_started_event_attributes")
    ]


async def test_a_crashed_worker_is_replaced_and_the_workflow_ends_as_without_the_crash(
    temporal: TemporalHarness,
) -> None:
    async with temporal.isolated() as plain:
        expected = await plain.run(StepsWorkflow.run, 4, activities=[step])
    temporal.inject(worker_crash(after=step, where=lambda n: n == 1))
    handle = await temporal.start(StepsWorkflow.run, 4, activities=[step])
    assert await handle.result() == expected == [0, 10, 20, 30]
    workers = _task_workers(await temporal.history(handle))
    # Tasks before the crash ran on the first worker, every task after it on the new one.
    crash_at = next(i for i, w in enumerate(workers) if RESTARTED in w)
    assert crash_at >= 2 and all(RESTARTED not in w for w in workers[:crash_at])
    assert all(w.endswith(f"{RESTARTED} 1)") for w in workers[crash_at:])
    attempts = temporal.attempts(step)
    assert [a.outcome for a in attempts] == ["succeeded"] * 4  # the crash lost nothing
    assert RESTARTED not in attempts[1].worker and attempts[2].worker.endswith(f"{RESTARTED} 1)")


async def test_two_crashes_in_one_run(temporal: TemporalHarness) -> None:
    temporal.inject(worker_crash(after=step), worker_crash(after=step))
    handle = await temporal.start(StepsWorkflow.run, 3, activities=[step])
    assert await handle.result() == [0, 10, 20]
    restarts = [w.rsplit(RESTARTED, 1)[-1] for w in _task_workers(await temporal.history(handle)) if RESTARTED in w]
    assert restarts[0] == " 1)" and restarts[-1] == " 2)" and restarts == sorted(restarts)


async def test_a_crash_after_an_injected_failure_and_its_retry(temporal: TemporalHarness) -> None:
    temporal.inject(
        retryable_error(fetch_quote, attempts=[1]),
        worker_crash(after=fetch_quote, attempts=[1]),
    )
    result = await temporal.run(FanOutWorkflow.run, ["AAPL"], activities=[fetch_quote])
    assert result == ["AAPL: 104.0"]
    [failed, succeeded] = temporal.assert_attempts(fetch_quote, failed=[1], succeeded=2)
    assert RESTARTED not in failed.worker and RESTARTED in succeeded.worker


async def test_attempts_in_flight_on_the_crashed_worker_are_retried_on_the_new_one(temporal: TemporalHarness) -> None:
    symbols = ["AAPL", "MSFT", "TSLA", "NVDA", "AMZN"]
    async with temporal.isolated() as plain:
        expected = await plain.run(FanOutWorkflow.run, symbols, activities=[fetch_quote])
    temporal.inject(worker_crash(after=fetch_quote, where=lambda request: request.symbol == "AAPL"))
    assert await temporal.run(FanOutWorkflow.run, symbols, activities=[fetch_quote]) == expected
    for attempt in temporal.attempts(fetch_quote):
        assert attempt.outcome == "succeeded" or attempt.error_type == "WorkerCrashed"


async def test_a_crash_of_a_worker_the_test_opened(temporal: TemporalHarness) -> None:
    temporal.inject(worker_crash(after=fetch_quote_sync))
    async with temporal.worker(workflows=[SyncQuoteWorkflow], activities=[fetch_quote_sync]):
        handle = await temporal.start(SyncQuoteWorkflow.run, AAPL)
        assert await handle.result() == "price 204.0"
    assert any(RESTARTED in w for w in _task_workers(await temporal.history(handle)))


async def test_an_attempt_the_crashed_worker_took_but_never_began_is_failed_for_a_retry(
    temporal: TemporalHarness,
) -> None:
    # A worker that dies in the instant its poll is answered takes an attempt with it that
    # never reaches the activity code, so no wrapper can fail it. A raw poll under another
    # identity is such an attempt, deterministically.
    remote = f"{temporal.task_queue}-remote"
    handle = await temporal.start(RemoteQuoteWorkflow.run, args=[AAPL, remote])
    poll = PollActivityTaskQueueRequest(
        namespace=temporal.client.namespace, task_queue=TaskQueue(name=remote), identity="dying-worker"
    )
    task = await temporal.client.workflow_service.poll_activity_task_queue(poll)
    assert task.attempt == 1 and task.activity_type.name == "fetch_quote"

    # Only attempts of the crashed identity are touched.
    assert await fail_orphaned_attempts(temporal._ctx, "another-worker") == []
    assert await fail_orphaned_attempts(temporal._ctx, "dying-worker") == ["fetch_quote attempt 1"]

    [pending] = (await handle.describe()).raw_description.pending_activities
    assert pending.attempt == 2  # scheduled for a retry, on whichever worker polls next
    assert pending.last_failure.application_failure_info.type == "WorkerCrashed"
    assert "dying-worker" in pending.last_failure.message

    async with temporal.worker(activities=[fetch_quote], task_queue=remote):
        assert await temporal.result(handle) == 104.0
    assert [(a.attempt, a.outcome) for a in temporal.attempts(fetch_quote)] == [(2, "succeeded")]
