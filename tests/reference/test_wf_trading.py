"""The automated trading workflow and its parallel multi-exchange variant, on a real server."""

from __future__ import annotations

from dataclasses import replace

import pytest
from reference_fixtures import (
    AGENT_RETRY,
    UNTIL_BACK_UP,
    TradingDesk,
    pinned_inputs,
    until_retrying,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from pytest_temporal_agents import TemporalHarness
from reference_workflows.activities import (
    MARKET_DATA_TASK_QUEUE,
    TRADING_TASK_QUEUE,
    ReferenceServices,
    split_by_task_queue,
)
from reference_workflows.market import EXCHANGE_UNAVAILABLE, INVALID_MARKET_DATA_REQUEST
from reference_workflows.models import ExecutionStatus, Side, Signal
from reference_workflows.risk import RISK_THRESHOLD
from reference_workflows.workflows.trading import (
    INSUFFICIENT_MARKET_SOURCES,
    INVALID_WORKFLOW_INPUT,
    NON_RETRYABLE_ERROR_TYPES,
    TRADING_STEPS,
    WORKFLOWS,
    AutomatedTradingInput,
    AutomatedTradingWorkflow,
    EnhancedParallelTradingInput,
    EnhancedParallelTradingWorkflow,
    RetryOptions,
    retry_policy,
)

automated = pinned_inputs(AutomatedTradingInput, retry=AGENT_RETRY)


# ------------------------------------------------------------------ automated trading


async def test_low_risk_buy_runs_all_four_agents_and_fills(desk: TradingDesk) -> None:
    result = await desk.run(AutomatedTradingWorkflow.run, automated("AAPL"))

    assert result.status is ExecutionStatus.FILLED
    assert result.analysis.signal is Signal.BUY
    assert result.risk.risk_score <= RISK_THRESHOLD and result.risk.approved
    assert result.plan is not None and result.plan.quantity > 0
    fills = desk.broker.fills()
    assert [(f.symbol, f.side, f.quantity) for f in fills] == [
        ("AAPL", Side.BUY, result.plan.quantity)
    ]
    assert fills[0].price == result.plan.entry_price  # the plan's price, not the wall clock's
    cash = desk.broker.snapshot().cash
    assert cash == pytest.approx(100_000.0 - fills[0].notional)
    history = await desk.history()
    assert history.activity_names() == [
        "analysis_agent",
        "risk_agent",
        "planning_agent",
        "action_agent",
    ]


async def test_risk_above_the_threshold_skips_the_trade(desk: TradingDesk) -> None:
    result = await desk.run(AutomatedTradingWorkflow.run, automated("TSLA"))

    assert result.risk.risk_score > 0.7
    assert result.status is ExecutionStatus.SKIPPED
    assert result.status.value == "skipped"
    assert "above the threshold 0.70" in result.reason
    assert result.plan is None
    assert desk.broker.fills() == []
    history = await desk.history()
    assert history.activity_names() == ["analysis_agent", "risk_agent"]


async def test_the_threshold_is_an_input_and_both_sides_of_it_are_honoured(
    desk: TradingDesk,
) -> None:
    # AAPL's risk is 0.27: a 0.2 threshold skips it, the default lets it through (above).
    strict = await desk.run(AutomatedTradingWorkflow.run, automated("AAPL", risk_threshold=0.2))
    assert strict.status is ExecutionStatus.SKIPPED
    assert strict.risk.threshold == 0.2 and not strict.risk.approved
    # TSLA's 0.74 passes a 0.8 threshold; the planner then decides on its own merits.
    lenient = await desk.run(AutomatedTradingWorkflow.run, automated("TSLA", risk_threshold=0.8))
    assert lenient.risk.approved and lenient.plan is not None


async def test_a_hold_plan_is_skipped_without_calling_the_broker(desk: TradingDesk) -> None:
    result = await desk.run(AutomatedTradingWorkflow.run, automated("MSFT"))

    assert result.risk.approved
    assert result.plan is not None and result.plan.signal is Signal.HOLD
    assert result.status is ExecutionStatus.SKIPPED
    assert "not to trade" in result.reason
    assert desk.broker.orders() == []


async def test_max_quantity_caps_the_plan(desk: TradingDesk) -> None:
    result = await desk.run(AutomatedTradingWorkflow.run, automated("AAPL", max_quantity=3))

    assert result.execution.quantity == 3
    assert [f.quantity for f in desk.broker.fills()] == [3]


async def test_queries_mid_run_while_the_exchange_is_down_then_after_completion(
    desk: TradingDesk,
) -> None:
    desk.market.set_exchange_down("NYSE")
    handle = await desk.start(AutomatedTradingWorkflow.run, automated("AAPL", retry=UNTIL_BACK_UP))

    assert await until_retrying(handle) == "analysis_agent"
    progress = await handle.query(AutomatedTradingWorkflow.get_progress)
    assert progress.stage == "market_analysis"
    assert progress.completed_steps == [] and progress.percent_complete == 0.0
    state = await handle.query(AutomatedTradingWorkflow.get_trade_state)
    assert state is not None and state.stage == "market_analysis" and state.analysis is None

    desk.market.set_exchange_down("NYSE", down=False)
    result = await handle.result()

    assert result.status is ExecutionStatus.FILLED
    progress = await handle.query(AutomatedTradingWorkflow.get_progress)
    assert progress.stage == "completed"
    assert progress.completed_steps == TRADING_STEPS and progress.percent_complete == 100.0
    state = await handle.query(AutomatedTradingWorkflow.get_trade_state)
    assert state is not None
    assert state.analysis == result.analysis and state.plan == result.plan
    assert state.execution == result.execution
    history = await desk.history(handle)
    assert history.activities("analysis_agent")[0].attempt >= 2


async def test_retries_are_bounded_and_the_failure_names_its_type(desk: TradingDesk) -> None:
    desk.market.set_exchange_down("NYSE")
    handle = await desk.start(AutomatedTradingWorkflow.run, automated("AAPL"))

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ActivityError)
    assert isinstance(failure.value.cause.cause, ApplicationError)
    assert failure.value.cause.cause.type == EXCHANGE_UNAVAILABLE
    history = await desk.history(handle)
    [analysis] = history.activities("analysis_agent")
    assert analysis.attempt == AGENT_RETRY.maximum_attempts
    state = await handle.query(AutomatedTradingWorkflow.get_trade_state)
    assert state is not None and state.stage == "failed" and "unavailable" in state.error


async def test_non_retryable_errors_fail_on_the_first_attempt(desk: TradingDesk) -> None:
    handle = await desk.start(
        AutomatedTradingWorkflow.run,
        automated("1NVALID", retry=replace(AGENT_RETRY, maximum_attempts=10)),
    )

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause.cause, ApplicationError)
    assert failure.value.cause.cause.type == INVALID_MARKET_DATA_REQUEST
    [analysis] = (await desk.history(handle)).activities("analysis_agent")
    assert analysis.attempt == 1


def test_the_retry_policy_lists_the_permanent_errors() -> None:
    policy = retry_policy(RetryOptions())

    assert policy.maximum_attempts == 5
    assert set(policy.non_retryable_error_types or ()) == set(NON_RETRYABLE_ERROR_TYPES)
    assert EXCHANGE_UNAVAILABLE not in NON_RETRYABLE_ERROR_TYPES  # the one transient error


async def test_an_impossible_threshold_fails_the_workflow_with_a_clear_error(
    desk: TradingDesk,
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(AutomatedTradingWorkflow.run, automated("AAPL", risk_threshold=1.5))

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == INVALID_WORKFLOW_INPUT
    assert "risk_threshold=1.5" in str(failure.value.cause)


async def test_market_data_and_trading_agents_run_on_their_own_task_queues(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    # Its own workers, one per queue, rather than the desk's: what a scaled deployment runs.
    # Per-test queue names: the session's server is shared with other tests.
    market_queue = f"{MARKET_DATA_TASK_QUEUE}-{temporal.id_prefix}"
    trading_queue = f"{TRADING_TASK_QUEUE}-{temporal.id_prefix}"
    market_activities, trading_activities = split_by_task_queue(services.activities())

    async with (
        temporal.worker(activities=market_activities, task_queue=market_queue),
        temporal.worker(
            workflows=WORKFLOWS, activities=trading_activities, task_queue=trading_queue
        ),
    ):
        handle = await temporal.client.start_workflow(
            AutomatedTradingWorkflow.run,
            automated("AAPL", market_data_task_queue=market_queue),
            id=temporal.new_workflow_id("scaled"),
            task_queue=trading_queue,
        )
        result = await handle.result()

    assert result.status is ExecutionStatus.FILLED
    history = await temporal.history(handle)
    queues = {
        event.activity_task_scheduled_event_attributes.activity_type.name: (
            event.activity_task_scheduled_event_attributes.task_queue.name
        )
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    }
    assert queues == {
        "analysis_agent": market_queue,
        "risk_agent": trading_queue,
        "planning_agent": trading_queue,
        "action_agent": trading_queue,
    }


# ------------------------------------------------------------------ enhanced parallel


parallel = pinned_inputs(EnhancedParallelTradingInput, retry=AGENT_RETRY)


async def test_parallel_fetches_three_exchanges_and_trades_on_the_most_liquid(
    desk: TradingDesk,
) -> None:
    handle = await desk.start(EnhancedParallelTradingWorkflow.run, parallel("AAPL"))
    result = await handle.result()

    progress = await handle.query(EnhancedParallelTradingWorkflow.get_progress)
    assert (progress.stage, progress.percent_complete) == ("completed", 100.0)
    assert progress.completed_steps == [
        "fetching_market_data",
        "analysing_venues",
        "risk_assessment",
        "execution",
    ]
    assert sorted(v.exchange for v in result.venues) == ["LSE", "NASDAQ", "NYSE"]
    assert result.failures == []
    liquid = max(result.venues, key=lambda v: v.average_volume)
    assert result.chosen_exchange == liquid.exchange
    assert result.status is ExecutionStatus.FILLED
    assert result.execution.quantity == result.risk.max_position_size
    [fill] = desk.broker.fills()
    assert (fill.symbol, fill.quantity, fill.price) == (
        "AAPL",
        result.execution.quantity,
        liquid.last_price,
    )
    history = await desk.history(handle)
    fetches = history.activities("fetch_market_data")
    assert len(fetches) == 3
    # All three were scheduled before any of them completed: they ran in parallel.
    first_completion = min(
        event.event_id
        for event in history.events
        if event.HasField("activity_task_completed_event_attributes")
    )
    assert max(f.scheduled_event_id for f in fetches) < first_completion


async def test_parallel_tolerates_an_exchange_that_stays_down(desk: TradingDesk) -> None:
    desk.market.set_exchange_down("LSE")
    result = await desk.run(EnhancedParallelTradingWorkflow.run, parallel("AAPL", quantity=5))

    assert [f.exchange for f in result.failures] == ["LSE"]
    assert result.failures[0].error_type == EXCHANGE_UNAVAILABLE
    assert sorted(v.exchange for v in result.venues) == ["NASDAQ", "NYSE"]
    assert result.status is ExecutionStatus.FILLED and result.execution.quantity == 5
    fetches = (await desk.history()).activities("fetch_market_data")
    lse = [a for a in fetches if '"LSE"' in a.input]
    assert lse[0].status == "failed" and lse[0].attempt == AGENT_RETRY.maximum_attempts


async def test_parallel_fails_clearly_when_too_few_exchanges_answer(desk: TradingDesk) -> None:
    desk.market.set_exchange_down("LSE")
    desk.market.set_exchange_down("NASDAQ")

    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(EnhancedParallelTradingWorkflow.run, parallel("AAPL", min_sources=2))

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == INSUFFICIENT_MARKET_SOURCES
    assert "only 1 of 3 exchanges answered" in str(cause)
    assert "LSE: ExchangeUnavailable" in str(cause) and "NASDAQ" in str(cause)
    assert desk.broker.orders() == []


async def test_parallel_skips_above_the_threshold_and_reports_a_refusal(desk: TradingDesk) -> None:
    skipped = await desk.run(EnhancedParallelTradingWorkflow.run, parallel("TSLA"))
    assert skipped.status is ExecutionStatus.SKIPPED and skipped.risk.risk_score > 0.7

    # Selling shares the account does not hold: the broker refuses, the workflow reports it.
    refused = await desk.run(
        EnhancedParallelTradingWorkflow.run, parallel("AAPL", side=Side.SELL, quantity=1)
    )
    assert refused.status is ExecutionStatus.REJECTED
    assert "AAPL" in refused.execution.reason
    assert desk.broker.fills() == []
