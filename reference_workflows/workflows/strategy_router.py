"""The strategy router: one parent that hands a trade to the child workflow of its strategy.

``StrategyRouterWorkflow`` fetches the market once, reads its regime, and starts the child for the
requested strategy: ``TrendFollowingWorkflow``, ``MeanReversionWorkflow`` or
``AdaptiveStrategyWorkflow``. The adaptive child runs the other two as children of its own in
evaluate-only mode, in parallel, then trades the one that suits the regime (mean reversion in a
range or a quiet market, trend following otherwise). Each level composes the results of the level
below into its own, so the router's result shows the whole tree of decisions.

Each strategy child, given a signal, sizes the trade by the signal's strength within the risk
model's limit, skips it above the risk threshold, and has the action agent carry it out.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.models import (
        AgentDecision,
        ExecutionStatus,
        RiskAssessment,
        Signal,
        Strategy,
        StrategySignal,
        TechnicalIndicators,
        TradeExecution,
        Trend,
        VolatilityRegime,
    )
    from reference_workflows.risk import RISK_THRESHOLD
    from reference_workflows.workflows.common import (
        AnalysisInput,
        apply_threshold,
        check_threshold,
        risk_too_high,
    )
    from reference_workflows.workflows.steps import (
        MarketSnapshot,
        act,
        assess_trade_risk,
        fetch_snapshot,
        skipped,
    )

UNROUTABLE_STRATEGY = "UnroutableStrategy"
"""ApplicationError type when the requested strategy has no child workflow."""


@dataclass
class MarketRegime:
    """How the market looks: the router's and the adaptive strategy's routing facts."""

    trend: Trend
    volatility: float
    volatility_regime: VolatilityRegime
    ranging: bool


def regime_of(indicators: TechnicalIndicators) -> MarketRegime:
    """A range (sideways) or a quiet market favours mean reversion; anything else, trends."""
    ranging = (
        indicators.trend is Trend.SIDEWAYS or indicators.volatility_regime is VolatilityRegime.LOW
    )
    return MarketRegime(
        indicators.trend, indicators.volatility, indicators.volatility_regime, ranging
    )


@dataclass
class StrategyInput(AnalysisInput):
    """Run one strategy for ``symbol``; ``execute=False`` evaluates the signal only.

    ``market`` is the parent's snapshot (fetched here when absent, so each child also runs on
    its own).
    """

    risk_threshold: float = RISK_THRESHOLD
    execute: bool = True
    market: MarketSnapshot | None = None


@dataclass
class StrategyResult:
    """A strategy's signal and what came of it; ``considered`` lists the adaptive candidates."""

    strategy: Strategy
    symbol: str
    signal: StrategySignal
    status: ExecutionStatus
    risk: RiskAssessment | None
    execution: TradeExecution
    regime: MarketRegime
    considered: list[StrategySignal] = field(default_factory=list)


@dataclass
class StrategyRouterInput(AnalysisInput):
    """Trade ``symbol`` with ``strategy`` (trend following, mean reversion or adaptive)."""

    strategy: Strategy = Strategy.ADAPTIVE
    risk_threshold: float = RISK_THRESHOLD


@dataclass
class StrategyRouterResult:
    """Where the trade went and the child's result."""

    symbol: str
    strategy: Strategy
    routed_to: str
    child_workflow_id: str
    regime: MarketRegime
    status: ExecutionStatus
    result: StrategyResult


# --------------------------------------------------------------------------- shared steps


async def _trade_signal(
    request: StrategyInput,
    strategy: Strategy,
    signal: StrategySignal,
    snapshot: MarketSnapshot,
    regime: MarketRegime,
    considered: list[StrategySignal],
) -> StrategyResult:
    """Size ``signal`` within the risk limit and have the action agent carry it out."""

    def result(
        status: ExecutionStatus, execution: TradeExecution, risk: RiskAssessment | None = None
    ) -> StrategyResult:
        return StrategyResult(
            strategy, request.symbol, signal, status, risk, execution, regime, considered
        )

    if signal.signal is Signal.HOLD:
        reason = f"{signal.strategy.value} says hold: {signal.rationale}"
        return result(ExecutionStatus.SKIPPED, skipped(request.symbol, reason))
    if not request.execute:
        reason = f"evaluated only: {signal.signal.value} at strength {signal.strength:.2f}"
        return result(ExecutionStatus.SKIPPED, skipped(request.symbol, reason))

    options = request.activity_options()
    trade = request.trade_request(strategy, signal.signal.side)
    assessed = await assess_trade_risk(trade, snapshot, options)
    risk = apply_threshold(assessed, request.risk_threshold)
    if risk.risk_score > request.risk_threshold:
        return result(ExecutionStatus.SKIPPED, skipped(request.symbol, risk_too_high(risk)), risk)
    if risk.max_position_size < 1:
        reason = "no share fits the risk limits"
        return result(ExecutionStatus.SKIPPED, skipped(request.symbol, reason), risk)
    # Conviction scales the position: a weak signal trades a fraction of what risk allows.
    quantity = max(1, math.floor(risk.max_position_size * signal.strength))
    decision = AgentDecision(
        agent=f"{strategy.value}-strategy",
        symbol=request.symbol,
        action=signal.signal,
        quantity=quantity,
        confidence=signal.strength,
        rationale=[signal.rationale],
    )
    price = snapshot.data.last_price
    execution = await act(decision, request.account_id, price, options, summary=None)
    return result(execution.status, execution, risk)


async def _run_strategy(request: StrategyInput, strategy: Strategy, agent: Any) -> StrategyResult:
    """The common body of the two single-strategy children."""
    check_threshold(request.risk_threshold)
    as_of = request.as_of or workflow.now()
    snapshot = request.market or await fetch_snapshot(request, as_of)
    signal: StrategySignal = await workflow.execute_activity_method(
        agent,
        request.agent_context(as_of, strategy=strategy),
        summary=f"{strategy.value} agent",
        **request.market_data_options(),
    )
    return await _trade_signal(
        request, strategy, signal, snapshot, regime_of(snapshot.indicators), [signal]
    )


# --------------------------------------------------------------------------- the children


@workflow.defn
class TrendFollowingWorkflow:
    """Ride a trend the MACD confirms."""

    @workflow.run
    async def run(self, request: StrategyInput) -> StrategyResult:
        return await _run_strategy(request, Strategy.TREND_FOLLOWING, Agents.trend_following_agent)


@workflow.defn
class MeanReversionWorkflow:
    """Fade prices stretched beyond their Bollinger bands or RSI limits."""

    @workflow.run
    async def run(self, request: StrategyInput) -> StrategyResult:
        return await _run_strategy(request, Strategy.MEAN_REVERSION, Agents.mean_reversion_agent)


@workflow.defn
class AdaptiveStrategyWorkflow:
    """Evaluate both strategies as children, trade the one the market regime favours."""

    @workflow.run
    async def run(self, request: StrategyInput) -> StrategyResult:
        check_threshold(request.risk_threshold)
        as_of = request.as_of or workflow.now()
        snapshot = request.market or await fetch_snapshot(request, as_of)
        regime = regime_of(snapshot.indicators)
        # Both candidates evaluate only: the adaptive strategy owns the one trade.
        evaluate = replace(request, as_of=as_of, market=snapshot, execute=False)
        parent_id = workflow.info().workflow_id
        trend, reversion = await asyncio.gather(
            workflow.execute_child_workflow(
                TrendFollowingWorkflow.run, evaluate, id=f"{parent_id}/trend-following"
            ),
            workflow.execute_child_workflow(
                MeanReversionWorkflow.run, evaluate, id=f"{parent_id}/mean-reversion"
            ),
        )
        chosen = reversion if regime.ranging else trend
        why = (
            f"{regime.trend.value} trend, {regime.volatility_regime.value} volatility: "
            f"using {chosen.strategy.value} ({chosen.signal.rationale})"
        )
        signal = replace(chosen.signal, strategy=Strategy.ADAPTIVE, rationale=why)
        return await _trade_signal(
            request, Strategy.ADAPTIVE, signal, snapshot, regime, [trend.signal, reversion.signal]
        )


# --------------------------------------------------------------------------- the router

ROUTES: dict[Strategy, type] = {
    Strategy.TREND_FOLLOWING: TrendFollowingWorkflow,
    Strategy.MEAN_REVERSION: MeanReversionWorkflow,
    Strategy.ADAPTIVE: AdaptiveStrategyWorkflow,
}
"""Which child workflow runs each strategy."""


@workflow.defn
class StrategyRouterWorkflow:
    """Route a trade to the child workflow of its strategy and report the child's result."""

    @workflow.run
    async def run(self, request: StrategyRouterInput) -> StrategyRouterResult:
        check_threshold(request.risk_threshold)
        strategy = Strategy(request.strategy)
        if strategy not in ROUTES:
            valid = [s.value for s in ROUTES]
            raise ApplicationError(
                f"strategy {strategy.value!r} has no child workflow to route to; use one of "
                f"{valid}, or the automated pattern for {strategy.value!r}",
                type=UNROUTABLE_STRATEGY,
                non_retryable=True,
            )
        as_of = request.as_of or workflow.now()
        snapshot = await fetch_snapshot(request, as_of)
        child = ROUTES[strategy]
        child_id = f"{workflow.info().workflow_id}/{strategy.value.replace('_', '-')}"
        child_input = request.child_input(StrategyInput, market=snapshot, as_of=as_of)
        result: StrategyResult = await workflow.execute_child_workflow(
            child.run,  # type: ignore[attr-defined]
            child_input,
            id=child_id,
        )
        return StrategyRouterResult(
            symbol=request.symbol,
            strategy=strategy,
            routed_to=child.__name__,
            child_workflow_id=child_id,
            regime=regime_of(snapshot.indicators),
            status=result.status,
            result=result,
        )


WORKFLOWS: list[type] = [
    StrategyRouterWorkflow,
    TrendFollowingWorkflow,
    MeanReversionWorkflow,
    AdaptiveStrategyWorkflow,
]

__all__ = [
    "ROUTES",
    "UNROUTABLE_STRATEGY",
    "WORKFLOWS",
    "AdaptiveStrategyWorkflow",
    "MarketRegime",
    "MarketSnapshot",
    "MeanReversionWorkflow",
    "StrategyInput",
    "StrategyResult",
    "StrategyRouterInput",
    "StrategyRouterResult",
    "StrategyRouterWorkflow",
    "TrendFollowingWorkflow",
    "regime_of",
]
