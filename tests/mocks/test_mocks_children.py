"""Child-workflow mocks on the real server, in the default sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mocking_workflows import (
    ByNameParent,
    ComposeWelcomeWorkflow,
    DeskWorkflow,
    Report,
    Research,
    ResearchAgent,
    WelcomeWorkflow,
    audit,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from pytest_temporal_agents import HarnessUsageError, TemporalHarness, WorkflowMock


async def test_a_mocked_child_returns_and_records_the_call(temporal: TemporalHarness) -> None:
    agent = temporal.mock_child_workflow(
        ResearchAgent, returns=lambda research, depth: Report(research.symbol, f"depth {depth}", 0.8)
    )
    temporal.mock_activity(audit, returns=None)
    result = await temporal.run(DeskWorkflow.run, ["AAPL", "MSFT"], workflows=[DeskWorkflow, ResearchAgent])
    assert result == ["AAPL: depth 2 (0.8)", "MSFT: depth 2 (0.8)", "took 0.0h"]
    assert isinstance(agent, WorkflowMock) and agent.call_count == 2
    agent.assert_any_call(Research("MSFT", ["news"]), 2)
    first = agent.calls[0]
    assert isinstance(first.args[0], Research)  # decoded with the run method's types
    assert first.arguments == {"research": Research("AAPL", ["news"]), "depth": 2}
    parent = temporal.started_workflows[0]
    assert (first.parent_workflow_id, first.workflow_id) == (parent, f"{parent}-AAPL")
    assert first.attempt == 1 and first.workflow_time is not None
    temporal.assert_call_order(ResearchAgent, ResearchAgent, audit)
    history = await temporal.history(parent)
    assert [(c.workflow_type, c.status) for c in history.children()] == [("ResearchAgent", "completed")] * 2


async def test_a_child_can_be_mocked_without_registering_the_real_one(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent.run, sequence=[Report("A", "first", 0.1), Report("B", "second", 0.2)])
    temporal.mock_activity(audit)
    assert await temporal.run(DeskWorkflow.run, ["A", "B"]) == ["A: first (0.1)", "B: second (0.2)", "took 0.0h"]


async def test_a_raising_child_fails_in_the_parent_as_a_child_workflow_error(temporal: TemporalHarness) -> None:
    agent = temporal.mock_child_workflow(
        ResearchAgent, raises=ApplicationError("no data", type="NoData", non_retryable=True)
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(DeskWorkflow.run, ["X"], activities=[audit])
    child_error = failure.value.cause
    assert isinstance(child_error, ChildWorkflowError)
    assert isinstance(child_error.cause, ApplicationError)
    assert (child_error.cause.type, child_error.cause.message) == ("NoData", "no data")
    assert isinstance(agent.calls[0].error, ApplicationError)


async def test_after_makes_the_child_take_workflow_time(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent, returns=Report("S", "slow", 1.0), after=timedelta(hours=6))
    temporal.mock_activity(audit)
    result = await temporal.run(DeskWorkflow.run, ["S", "T"])
    assert result[-1] == "took 12.0h"


async def test_a_child_by_name_only(temporal: TemporalHarness) -> None:
    pricing = temporal.mock_child_workflow("PricingService", returns=101.5)
    assert await temporal.run(ByNameParent.run, "AAPL", workflows=[ByNameParent]) == 101.5
    pricing.assert_called_once_with("AAPL")  # no declared types: arguments as the JSON decodes


async def test_a_child_by_name_without_behaviour_returns_none(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow("PricingService")  # nothing declares its return type
    assert await temporal.run(ByNameParent.run, "AAPL", workflows=[ByNameParent]) is None


async def test_a_mocked_child_name_close_to_a_registered_one_is_a_typo(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow("ResearchAgnet", returns=Report("A", "b", 1.0))
    with pytest.raises(HarnessUsageError) as failure:
        await temporal.run(DeskWorkflow.run, ["A"], workflows=[DeskWorkflow, ResearchAgent], activities=[audit])
    message = str(failure.value)
    assert "temporal.mock_child_workflow('ResearchAgnet') mocks a workflow type that no worker" in message
    assert "Did you mean 'ResearchAgent'?" in message


async def test_a_child_mocked_by_class_needs_no_worker_and_gets_no_hint(temporal: TemporalHarness) -> None:
    # The parent's name is close to the child's: no "did you mean" may name the parent.
    compose = temporal.mock_child_workflow(ComposeWelcomeWorkflow, returns="Welcome, Ada!")
    assert await temporal.run(WelcomeWorkflow.run, "Ada", workflows=[WelcomeWorkflow]) == "Welcome, Ada!"
    compose.assert_called_once_with("Ada")


async def test_child_mock_errors(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="workflow mock 'ResearchAgent': returns='text' cannot be sent"):
        temporal.mock_child_workflow(ResearchAgent, returns="text")
    with pytest.raises(HarnessUsageError, match=r"must accept the workflow's arguments \(research, depth\)"):
        temporal.mock_child_workflow(ResearchAgent, returns=lambda research: None)
    temporal.mock_child_workflow(ResearchAgent)
    with pytest.raises(HarnessUsageError, match="workflow 'ResearchAgent' is already mocked"):
        temporal.mock_child_workflow("ResearchAgent")
    assert temporal.mock(ResearchAgent) is temporal.mock("ResearchAgent")


async def test_a_child_by_name_close_to_its_parent_gets_no_hint_and_works(temporal: TemporalHarness) -> None:
    # 'ComposeWelcomeWorkflow' is no typo of 'WelcomeWorkflow', the parent that starts it:
    # the harness registers the stand-in itself and the parent gets the mock's result.
    compose = temporal.mock_child_workflow("ComposeWelcomeWorkflow", returns="Welcome, Ada!")
    assert await temporal.run(WelcomeWorkflow.run, "Ada", workflows=[WelcomeWorkflow]) == "Welcome, Ada!"
    compose.assert_called_once_with("Ada")
