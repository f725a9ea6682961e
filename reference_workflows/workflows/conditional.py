"""Conditional: the market decides which path the workflow takes.

``ConditionalStrategyWorkflow`` analyses the symbol, then branches on its volatility regime:

- LOW volatility: calm markets trend, so follow the trend at full size;
- NORMAL volatility: trade momentum at three quarters of the size;
- HIGH volatility: wild moves overshoot, so fade them (mean reversion) at half the size.

The chosen strategy's agent gives the signal; a BUY or SELL is traded (unless ``execute`` is
off, as when another workflow does the trading: see the chained pattern), a HOLD is SKIPPED.
The branch is a pure function of an activity's result, so it replays identically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.models import (
        AnalysisReport,
        Signal,
        Strategy,
        StrategySignal,
        TradeExecution,
        VolatilityRegime,
    )
    from reference_workflows.workflows.common import AnalysisInput, check_quantity
    from reference_workflows.workflows.steps import execute_once, skipped


@dataclass(frozen=True)
class RegimePlan:
    """What to do in one volatility regime."""

    strategy: Strategy
    position_scale: float
    rationale: str


REGIME_PLANS: dict[VolatilityRegime, RegimePlan] = {
    VolatilityRegime.LOW: RegimePlan(
        Strategy.TREND_FOLLOWING, 1.0, "low volatility: follow the trend at full size"
    ),
    VolatilityRegime.NORMAL: RegimePlan(
        Strategy.MOMENTUM, 0.75, "normal volatility: trade momentum at three quarters size"
    ),
    VolatilityRegime.HIGH: RegimePlan(
        Strategy.MEAN_REVERSION, 0.5, "high volatility: fade the moves at half size"
    ),
}
"""The branch taken for each regime (``analysis.classify_volatility`` sets the regime)."""

_STRATEGY_AGENTS: dict[Strategy, Callable[..., Any]] = {
    Strategy.TREND_FOLLOWING: Agents.trend_following_agent,
    Strategy.MOMENTUM: Agents.momentum_agent,
    Strategy.MEAN_REVERSION: Agents.mean_reversion_agent,
}


@dataclass
class ConditionalStrategyInput(AnalysisInput):
    """``quantity`` is the full-size position; the regime's plan scales it down."""

    quantity: int = 100
    execute: bool = True


@dataclass
class ConditionalStrategyResult:
    """The branch taken, the signal it gave, and the trade (SKIPPED when none was made)."""

    symbol: str
    volatility: float
    regime: VolatilityRegime
    strategy: Strategy
    rationale: str
    signal: StrategySignal
    quantity: int
    """Shares to trade: the input quantity scaled by the regime (0 for a HOLD)."""
    execution: TradeExecution
    analysis: AnalysisReport


@workflow.defn
class ConditionalStrategyWorkflow:
    """Analyse, branch on the volatility regime, get that strategy's signal, trade it."""

    @workflow.run
    async def run(self, request: ConditionalStrategyInput) -> ConditionalStrategyResult:
        check_quantity(request.quantity)
        market = request.market_data_options()
        context = request.agent_context(request.as_of or workflow.now())
        analysis: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent, context, summary="analysis agent", **market
        )
        regime = analysis.indicators.volatility_regime
        plan = REGIME_PLANS[regime]
        # The analysis travels with the context, so the strategy agent reuses its indicators
        # instead of fetching the bars again.
        signal: StrategySignal = await workflow.execute_activity_method(
            _STRATEGY_AGENTS[plan.strategy],
            replace(context, strategy=plan.strategy, analysis=analysis),
            summary=f"{plan.strategy.value} agent",
            **market,
        )
        quantity = math.floor(request.quantity * plan.position_scale)
        if signal.signal is Signal.HOLD:
            quantity = 0
            execution = skipped(request.symbol, f"{plan.strategy.value} says hold")
        elif quantity < 1:
            execution = skipped(
                request.symbol,
                f"{request.quantity} shares at {plan.position_scale:.0%} is below 1 share",
            )
        elif not request.execute:
            execution = skipped(
                request.symbol, f"{signal.signal.value} {quantity}: execution left to the caller"
            )
        else:
            execution = await execute_once(
                request.account_id,
                request.symbol,
                signal.signal.side,
                quantity,
                analysis.indicators.last_price,
                request.activity_options(),
            )
        return ConditionalStrategyResult(
            symbol=request.symbol,
            volatility=analysis.indicators.volatility,
            regime=regime,
            strategy=plan.strategy,
            rationale=plan.rationale,
            signal=signal,
            quantity=quantity,
            execution=execution,
            analysis=analysis,
        )


WORKFLOWS: list[type] = [ConditionalStrategyWorkflow]

__all__ = [
    "REGIME_PLANS",
    "WORKFLOWS",
    "ConditionalStrategyInput",
    "ConditionalStrategyResult",
    "ConditionalStrategyWorkflow",
    "RegimePlan",
]
