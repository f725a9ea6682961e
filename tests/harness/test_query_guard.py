"""Queries on the time-skipping server wait for the workflow task in flight.

The Java test server loses a query that meets a workflow task ending its run (typically a
continue-as-new right after a signal) and leaks a time-skipping lock with it. The harness's
client holds such a query back until the task has ended.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.servers._settle import settle_before_query, task_in_flight
from sample_workflows import GenerationsWorkflow, LongSleepWorkflow, compose_greeting

E = EventType


def _events(*types: EventType.ValueType) -> list[HistoryEvent]:
    return [HistoryEvent(event_id=n, event_type=t) for n, t in enumerate(types, 1)]


def test_a_task_is_in_flight_from_scheduled_until_it_ends() -> None:
    started = (E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    assert task_in_flight(_events(*started))
    assert task_in_flight(_events(*started, E.EVENT_TYPE_WORKFLOW_TASK_STARTED))
    for end in (E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
        assert not task_in_flight(_events(*started, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, end))
    signalled = (E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert task_in_flight(_events(*started, *signalled, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED))
    assert not task_in_flight(_events(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED))


async def test_a_query_right_after_a_continue_as_new_signal_is_answered(temporal: TemporalHarness) -> None:
    handle = await temporal.start(GenerationsWorkflow.run, 0)
    # Without the guard the test server lost this query 9 times in 10 (30 s each), and
    # time stopped skipping for every later test.
    for generation in range(1, 6):
        await handle.signal(GenerationsWorkflow.advance)
        assert await handle.query(GenerationsWorkflow.generation, rpc_timeout=timedelta(seconds=10)) == generation
    await handle.signal(GenerationsWorkflow.stop)
    assert await handle.result() == 5
    # Time still skips: no query left a lock behind.
    assert (
        await temporal.run(LongSleepWorkflow.run, "after", activities=[compose_greeting], timeout=timedelta(seconds=10))
        == "Hello, after!"
    )


async def test_the_wait_for_a_task_no_worker_takes_is_bounded(temporal: TemporalHarness) -> None:
    # A workflow no worker polls keeps its first task scheduled; its query is sent anyway
    # once the limit has passed, and reports what the server says.
    nobody = f"{temporal.task_queue}-nobody"
    handle = await temporal.client.start_workflow(
        GenerationsWorkflow.run, 0, id=f"{temporal.id_prefix}-unpolled", task_queue=nobody
    )
    await settle_before_query(temporal.client, handle.id, None, limit=timedelta(milliseconds=200))
    assert task_in_flight((await handle.fetch_history()).events)
    # A worker at last (a task left scheduled at teardown would stop the server's clock).
    async with temporal.worker(workflows=[GenerationsWorkflow], task_queue=nobody):
        await handle.signal(GenerationsWorkflow.stop)
        assert await handle.result() == 0
