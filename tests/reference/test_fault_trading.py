"""The trading workflows under injected faults: retried, stopped cleanly, crash-proof."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from reference_fixtures import AS_OF, STARTING_CASH
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import (
    error_of_type,
    non_retryable_error,
    retryable_error,
    worker_crash,
)
from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.agents import Agents
from reference_workflows.broker import INSUFFICIENT_FUNDS
from reference_workflows.market import EXCHANGE_UNAVAILABLE, MarketDataService
from reference_workflows.models import ExecutionStatus
from reference_workflows.workflows.trading import (
    AutomatedTradingInput,
    AutomatedTradingResult,
    AutomatedTradingWorkflow,
    EnhancedParallelTradingInput,
    EnhancedParallelTradingResult,
    EnhancedParallelTradingWorkflow,
    error_type,
)

AGENTS = [Agents.analysis_agent, Agents.risk_agent, Agents.planning_agent, Agents.action_agent]


def agents_of(services: ReferenceServices) -> list[object]:
    return [getattr(services.agents, agent.__name__) for agent in AGENTS]


async def baseline(temporal: TemporalHarness, tmp_path: Path) -> AutomatedTradingResult:
    """The trade with no fault, on its own ledger: what every survivable fault must give."""
    services = create_services(ledger_path=tmp_path / "baseline.sqlite3")
    async with temporal.isolated(label="baseline") as clean:
        result: AutomatedTradingResult = await clean.run(
            AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=agents_of(services)
        )
    return result


def same_trade(result: AutomatedTradingResult) -> tuple[object, ...]:
    """The result without the broker's ids (they differ between ledgers)."""
    execution = replace(result.execution, order_id=None, fill_id=None)
    return (result.status, result.reason, result.analysis, result.risk, result.plan, execution)


@pytest.mark.parametrize("agent", AGENTS, ids=lambda agent: agent.__name__)
async def test_automated_trading_survives_retryable_faults_in_each_agent(
    temporal: TemporalHarness, services: ReferenceServices, tmp_path: Path, agent: object
) -> None:
    expected = await baseline(temporal, tmp_path)
    temporal.inject(retryable_error(agent, attempts=[1, 2], type=EXCHANGE_UNAVAILABLE, message="exchange down"))
    result = await temporal.run(
        AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=agents_of(services)
    )
    assert result.status is ExecutionStatus.FILLED
    assert same_trade(result) == same_trade(expected)
    temporal.assert_attempts(agent, failed=[1, 2], succeeded=3)
    [fill] = services.broker.fills()
    assert fill.quantity == result.execution.quantity


async def test_a_lost_execution_result_does_not_trade_twice(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    # The broker executes, the result never reaches the workflow, the agent is retried:
    # the idempotency key returns the first execution instead of buying again.
    temporal.inject(retryable_error(Agents.action_agent, attempts=[1, 2], after_running=True))
    result = await temporal.run(
        AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=agents_of(services)
    )
    temporal.assert_attempts(Agents.action_agent, failed=[1, 2], succeeded=3)
    [fill] = services.broker.fills()
    assert (fill.order_id, fill.quantity) == (result.execution.order_id, result.execution.quantity)
    assert services.broker.snapshot().cash == pytest.approx(STARTING_CASH - fill.notional)


@pytest.mark.parametrize("agent", AGENTS, ids=lambda agent: agent.__name__)
async def test_automated_trading_stops_cleanly_on_a_non_retryable_fault(
    temporal: TemporalHarness, services: ReferenceServices, agent: object
) -> None:
    temporal.inject(non_retryable_error(agent, type="AgentMisconfigured", message="no model configured"))
    handle = await temporal.start(
        AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=agents_of(services)
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, ActivityError)
    assert error_type(failure.value) == "AgentMisconfigured"
    temporal.assert_attempts(agent, failed=[1], succeeded=None)  # not retried
    progress = await handle.query(AutomatedTradingWorkflow.get_progress)
    assert progress.stage == "failed" and progress.message.endswith("no model configured")
    history = await temporal.history(handle)
    assert history.activity_names()[-1] == agent.__name__  # type: ignore[attr-defined]  # nothing after it
    assert services.broker.fills() == [] and services.broker.orders() == []
    assert services.broker.snapshot().cash == STARTING_CASH


async def test_an_error_type_the_retry_policy_lists_is_not_retried(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    temporal.inject(error_of_type(Agents.action_agent, INSUFFICIENT_FUNDS, attempts=[1]))
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(
            AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=agents_of(services)
        )
    cause = failure.value.cause.cause  # type: ignore[union-attr]
    assert isinstance(cause, ApplicationError) and not cause.non_retryable  # the policy decided
    temporal.assert_attempts(Agents.action_agent, failed=[1], succeeded=None)


def parallel_trade() -> tuple[object, ...]:
    return (EnhancedParallelTradingWorkflow.run, EnhancedParallelTradingInput("AAPL", as_of=AS_OF))


def same_parallel_trade(result: EnhancedParallelTradingResult) -> tuple[object, ...]:
    execution = replace(result.execution, order_id=None, fill_id=None)
    return (result.status, result.chosen_exchange, result.venues, result.failures, result.risk, execution)


async def test_a_worker_crash_in_the_middle_of_the_enhanced_parallel_workflow(
    temporal: TemporalHarness, services: ReferenceServices, tmp_path: Path
) -> None:
    clean_services = create_services(ledger_path=tmp_path / "clean.sqlite3")
    async with temporal.isolated(label="clean") as clean:
        expected = await clean.run(*parallel_trade(), activities=clean_services.activities())
    # The worker dies once the NASDAQ data is in, with the other venues' fetches in flight
    # or done; a fresh worker replays the history and finishes the trade.
    temporal.inject(
        worker_crash(after=MarketDataService.fetch_market_data, where=lambda request: request.exchange == "NASDAQ")
    )
    handle = await temporal.start(*parallel_trade(), activities=services.activities())
    result: EnhancedParallelTradingResult = await handle.result()
    assert same_parallel_trade(result) == same_parallel_trade(expected)
    history = await temporal.history(handle)
    workers = [
        e.workflow_task_started_event_attributes.identity
        for e in history.events
        if e.HasField("workflow_task_started_event_attributes")
    ]
    assert "(restarted after crash 1)" in workers[-1] and "(restarted" not in workers[0]
    [fill] = services.broker.fills()  # one trade, not two
    assert fill.quantity == result.execution.quantity
