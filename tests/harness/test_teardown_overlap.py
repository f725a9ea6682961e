"""The teardown's replay check overlaps stopping the workers (issue 14), without changing
what a test may do or what it is told."""

from __future__ import annotations

import asyncio

import pytest
from sample_workflows import (
    GatedWorkflow,
    GenerationsWorkflow,
    Greeting,
    GreetingWorkflow,
    compose_greeting,
)
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from trading_desk import OrderApproval, stamp_trade

from pytest_temporal_agents import TemporalHarness


async def test_verify_stops_idle_background_workers_and_a_later_run_starts_another(
    temporal: TemporalHarness,
) -> None:
    assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
    assert await temporal.verify() == []
    assert temporal._ctx.workers == []  # stopped while the replay ran
    # The test may go on: the next run gets a worker of its own, and its workflow replays too.
    assert await temporal.run(GreetingWorkflow.run, Greeting("Bo"), activities=[compose_greeting]) == "Hello, Bo!"
    assert len(temporal._ctx.workers) == 1
    assert await temporal.verify() == []
    assert await temporal.close() == []


async def test_verify_leaves_the_workers_of_a_workflow_still_running(temporal: TemporalHarness) -> None:
    handle = await temporal.start(OrderApproval.run, "AAPL", activities=[stamp_trade])
    assert await temporal.verify() == []  # its history so far replays
    [worker] = temporal._ctx.workers
    assert worker.background
    await handle.signal(OrderApproval.approve, "ops")
    assert (await handle.result()).startswith("AAPL ticket at ")  # still served by that worker


async def test_a_query_after_verify_gets_its_worker_back(temporal: TemporalHarness) -> None:
    handle = await temporal.start(GenerationsWorkflow.run, 5)
    await handle.signal(GenerationsWorkflow.stop)
    assert await handle.result() == 5
    assert await temporal.verify() == []
    assert temporal._ctx.workers == []
    # A closed workflow's query is answered by a worker replaying it: the stopped one returns.
    assert await handle.query(GenerationsWorkflow.generation) == 5
    assert len(temporal._ctx.workers) == 1


async def test_close_after_verify_found_nothing_running_asks_the_server_nothing(
    temporal: TemporalHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_temporal_agents.harness import _shutdown

    assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
    assert await temporal.verify() == []
    asked: list[object] = []

    async def running(ctx: object) -> list[object]:
        asked.append(ctx)
        return []

    monkeypatch.setattr(_shutdown, "_running", running)
    assert await temporal.close() == []
    assert asked == []  # verify() found it closed, and a closed run stays closed


async def test_a_workflow_started_after_verify_is_still_ended_by_close(temporal: TemporalHarness) -> None:
    assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
    assert await temporal.verify() == []
    handle = await temporal.start(GenerationsWorkflow.run, 1)  # waits for a signal, no timer
    assert await handle.query(GenerationsWorkflow.generation) == 1  # its first task is done
    assert await temporal.close() == []
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_close_asks_nothing_of_a_server_said_to_be_dead(temporal: TemporalHarness) -> None:
    harness = TemporalHarness(temporal.env, test_id="dead-server", server_alive=lambda: False)
    handle = await harness.start(GenerationsWorkflow.run, 1)  # waits for a signal, no timer
    # Answered once its first workflow task is done: none in flight when it is terminated below
    # (one in flight would leak a time-skipping lock and stop the shared server's clock).
    assert await handle.query(GenerationsWorkflow.generation) == 1
    assert await harness.close() == []
    assert harness._ctx.workers == []
    # Not described, so not terminated: a live server's teardown would have ended it.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate()  # no task in flight: safe for the shared server's clock


#: Set by the test body, awaited by the activity: an asyncio object they share works only
#: if the activity runs in the test's own event loop. pytest-asyncio gives each test a new
#: loop, so a worker kept from an earlier test (whose pollers run in that test's loop) would
#: break this; the harness gives each test its own worker. Twice, to pin it across tests.
GATE_EVENT: dict[str, asyncio.Event] = {}


@activity.defn(name="wait_for_gate")
async def wait_for_the_test_body() -> str:
    await asyncio.wait_for(GATE_EVENT["open"].wait(), timeout=10)
    return "through"


@pytest.mark.parametrize("round_", [1, 2])
async def test_an_activity_shares_an_asyncio_event_with_the_test_body(temporal: TemporalHarness, round_: int) -> None:
    GATE_EVENT["open"] = asyncio.Event()  # bound to this test's loop
    handle = await temporal.start(GatedWorkflow.run, activities=[wait_for_the_test_body])
    await asyncio.sleep(0)
    GATE_EVENT["open"].set()
    assert await handle.result() == "through"
