"""The strategy router and its trend-following, mean-reversion and adaptive children."""

from __future__ import annotations

from dataclasses import replace

import pytest
from reference_fixtures import AGENT_RETRY, AS_OF, TradingDesk
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from reference_workflows.models import ExecutionStatus, Side, Signal, Strategy, Trend
from reference_workflows.workflows.strategy_router import (
    UNROUTABLE_STRATEGY,
    WORKFLOWS,
    MeanReversionWorkflow,
    StrategyInput,
    StrategyResult,
    StrategyRouterInput,
    StrategyRouterResult,
    StrategyRouterWorkflow,
)


async def route(
    desk: TradingDesk, symbol: str, strategy: Strategy, **overrides: object
) -> StrategyRouterResult:
    request = replace(
        StrategyRouterInput(symbol, strategy, as_of=AS_OF, retry=AGENT_RETRY), **overrides
    )
    return await desk.run(StrategyRouterWorkflow.run, request, workflows=WORKFLOWS)


@pytest.mark.parametrize(
    ("strategy", "symbol", "child"),
    [
        (Strategy.TREND_FOLLOWING, "AAPL", "TrendFollowingWorkflow"),  # uptrend, MACD rising
        (Strategy.MEAN_REVERSION, "PEP", "MeanReversionWorkflow"),  # sideways, stretched low
    ],
)
async def test_each_strategy_routes_to_its_child_and_the_child_trades(
    desk: TradingDesk, strategy: Strategy, symbol: str, child: str
) -> None:
    result = await route(desk, symbol, strategy)

    assert result.routed_to == child
    assert result.result.strategy is strategy
    assert result.result.signal.signal is Signal.BUY
    assert result.status is ExecutionStatus.FILLED is result.result.execution.status
    risk = result.result.risk
    assert risk is not None and risk.approved
    # Sized by conviction within the risk limit.
    assert 1 <= result.result.execution.quantity <= risk.max_position_size
    [fill] = desk.broker.fills()
    assert (fill.symbol, fill.side, fill.quantity) == (
        symbol,
        Side.BUY,
        result.result.execution.quantity,
    )
    [record] = (await desk.history()).children()
    assert (record.workflow_type, record.workflow_id, record.status) == (
        child,
        result.child_workflow_id,
        "completed",
    )


async def test_adaptive_evaluates_both_children_and_trades_the_trend_in_a_trend(
    desk: TradingDesk,
) -> None:
    # MS is in an uptrend: trend following buys while mean reversion would sell.
    result = await route(desk, "MS", Strategy.ADAPTIVE)

    assert result.routed_to == "AdaptiveStrategyWorkflow"
    assert result.regime.trend is Trend.UP and not result.regime.ranging
    adaptive = result.result
    assert [(s.strategy, s.signal) for s in adaptive.considered] == [
        (Strategy.TREND_FOLLOWING, Signal.BUY),
        (Strategy.MEAN_REVERSION, Signal.SELL),
    ]
    assert adaptive.strategy is Strategy.ADAPTIVE and adaptive.signal.signal is Signal.BUY
    assert "using trend_following" in adaptive.signal.rationale
    assert adaptive.status is ExecutionStatus.FILLED
    # One trade only: the evaluating children never touch the broker.
    assert [(f.symbol, f.side) for f in desk.broker.fills()] == [("MS", Side.BUY)]
    adaptive_history = await desk.history(result.child_workflow_id)
    assert sorted((c.workflow_type, c.status) for c in adaptive_history.children()) == [
        ("MeanReversionWorkflow", "completed"),
        ("TrendFollowingWorkflow", "completed"),
    ]


async def test_adaptive_trades_mean_reversion_in_a_range(desk: TradingDesk) -> None:
    result = await route(desk, "PEP", Strategy.ADAPTIVE)

    assert result.regime.ranging and result.regime.trend is Trend.SIDEWAYS
    assert "using mean_reversion" in result.result.signal.rationale
    assert result.result.signal.signal is Signal.BUY
    assert result.status is ExecutionStatus.FILLED


async def test_a_hold_signal_and_a_high_risk_trade_are_skipped(desk: TradingDesk) -> None:
    hold = await route(desk, "MSFT", Strategy.TREND_FOLLOWING)
    assert hold.result.signal.signal is Signal.HOLD
    assert hold.status is ExecutionStatus.SKIPPED and hold.result.risk is None
    assert "says hold" in hold.result.execution.reason

    risky = await route(desk, "AAPL", Strategy.TREND_FOLLOWING, risk_threshold=0.1)
    assert risky.status is ExecutionStatus.SKIPPED
    assert risky.result.risk is not None and risky.result.risk.threshold == 0.1
    assert "above the threshold 0.10" in risky.result.execution.reason
    assert desk.broker.orders() == []


async def test_a_strategy_without_a_child_fails_and_lists_the_routes(desk: TradingDesk) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await route(desk, "AAPL", Strategy.MOMENTUM)

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == UNROUTABLE_STRATEGY
    assert "'momentum'" in str(cause)
    assert "['trend_following', 'mean_reversion', 'adaptive']" in str(cause)
    assert (await desk.history()).children() == []


async def test_a_child_runs_on_its_own_and_fetches_its_market(desk: TradingDesk) -> None:
    result: StrategyResult = await desk.run(
        MeanReversionWorkflow.run,
        StrategyInput("PEP", as_of=AS_OF, retry=AGENT_RETRY, execute=False),
    )

    assert result.signal.signal is Signal.BUY
    assert result.status is ExecutionStatus.SKIPPED and "evaluated only" in result.execution.reason
    history = await desk.history()
    assert history.activity_names() == [
        "fetch_market_data",
        "calculate_technical_indicators",
        "mean_reversion_agent",
    ]
    assert desk.broker.orders() == []
