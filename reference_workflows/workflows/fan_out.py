"""Fan-out / fan-in: analyse every symbol of a portfolio at once, then aggregate.

``PortfolioAnalysisWorkflow`` starts one analysis per symbol (the analysis agent, then the
strategy's agent on that analysis), at most ``max_concurrency`` at a time. A symbol whose
analysis fails after its retries is collected in ``failures`` and left out of the aggregate; the
workflow fails only when no symbol could be analysed (``NoSymbolAnalysed``).

The fan-in builds a ``PortfolioSummary``: the symbols to buy, sell and hold by the strategy's
signal, the strongest buy, the average volatility and how many are in each volatility regime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.models import (
        AgentContext,
        AnalysisReport,
        Signal,
        Strategy,
        StrategySignal,
        Trend,
        VolatilityRegime,
    )
    from reference_workflows.workflows.common import (
        MarketInput,
        error_message,
        error_type,
        invalid_input,
        with_fields_of,
    )

NO_SYMBOL_ANALYSED = "NoSymbolAnalysed"
"""ApplicationError type when every symbol's analysis failed: there is nothing to aggregate."""

DEFAULT_PORTFOLIO = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA"]

_STRATEGY_AGENTS: dict[Strategy, Callable[..., Any]] = {
    Strategy.MOMENTUM: Agents.momentum_agent,
    Strategy.TREND_FOLLOWING: Agents.trend_following_agent,
    Strategy.MEAN_REVERSION: Agents.mean_reversion_agent,
    Strategy.ADAPTIVE: Agents.adaptive_agent,
}


@dataclass
class PortfolioAnalysisInput(MarketInput):
    """The symbols to analyse with ``strategy``; duplicates (in any case) count once."""

    symbols: list[str] = field(default_factory=lambda: list(DEFAULT_PORTFOLIO))
    strategy: Strategy = Strategy.MOMENTUM
    exchange: str = "NYSE"
    timeframe: str = "1d"
    bars: int = 120
    max_concurrency: int = 10


@dataclass
class SymbolAnalysis:
    """One symbol's indicators in brief (as named in ``TechnicalIndicators``), the analysis
    agent's view and the strategy's signal."""

    symbol: str
    last_price: float
    trend: Trend
    volatility: float
    volatility_regime: VolatilityRegime
    rsi_14: float
    analysis_signal: Signal
    analysis_confidence: float
    signal: StrategySignal


@dataclass
class SymbolFailure:
    """A symbol that could not be analysed, after its retries."""

    symbol: str
    error_type: str
    message: str


@dataclass
class PortfolioSummary:
    """The fan-in: what the analysed symbols say together."""

    analysed: int
    failed: int
    buy: list[str]
    sell: list[str]
    hold: list[str]
    strongest_buy: str | None
    average_volatility: float
    regimes: dict[str, int]
    """Symbols per volatility regime (``low``, ``normal``, ``high``)."""


@dataclass
class PortfolioAnalysisResult:
    """Each symbol's analysis or failure, in input order, and the aggregate."""

    strategy: Strategy
    analyses: list[SymbolAnalysis]
    failures: list[SymbolFailure]
    summary: PortfolioSummary


@workflow.defn
class PortfolioAnalysisWorkflow:
    """One analysis per symbol, concurrently (bounded); failures collected; results aggregated."""

    @workflow.run
    async def run(self, request: PortfolioAnalysisInput) -> PortfolioAnalysisResult:
        symbols = list(dict.fromkeys(s.strip().upper() for s in request.symbols if s.strip()))
        if not symbols:
            raise invalid_input(f"symbols={request.symbols!r}; give at least one symbol to analyse")
        if request.max_concurrency < 1:
            raise invalid_input(f"max_concurrency={request.max_concurrency!r}; use 1 or more")
        strategy = Strategy(request.strategy)
        options = request.market_data_options()
        # Every symbol is analysed as of the same moment, so they compare like with like.
        as_of = request.as_of or workflow.now()
        # asyncio primitives run on the workflow's deterministic event loop: the semaphore
        # admits waiters in order, so the same input always schedules the same activities.
        slots = asyncio.Semaphore(request.max_concurrency)

        async def analyse(symbol: str) -> SymbolAnalysis | SymbolFailure:
            context = AgentContext(
                symbol=symbol,
                strategy=strategy,
                exchange=request.exchange,
                timeframe=request.timeframe,
                bars=request.bars,
                as_of=as_of,
            )
            async with slots:
                try:
                    return await self._analyse(context, strategy, options)
                except ActivityError as error:
                    return SymbolFailure(symbol, error_type(error), error_message(error))

        outcomes = await asyncio.gather(*(analyse(symbol) for symbol in symbols))
        analyses = [o for o in outcomes if isinstance(o, SymbolAnalysis)]
        failures = [o for o in outcomes if isinstance(o, SymbolFailure)]
        if not analyses:
            detail = "; ".join(f"{f.symbol}: {f.error_type}: {f.message}" for f in failures)
            raise ApplicationError(
                f"none of the {len(symbols)} symbols could be analysed ({detail})",
                type=NO_SYMBOL_ANALYSED,
                non_retryable=True,
            )
        return PortfolioAnalysisResult(strategy, analyses, failures, summarise(analyses, failures))

    async def _analyse(
        self, context: AgentContext, strategy: Strategy, options: dict[str, Any]
    ) -> SymbolAnalysis:
        report: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent, context, summary=f"analyse {context.symbol}", **options
        )
        signal: StrategySignal = await workflow.execute_activity_method(
            _STRATEGY_AGENTS[strategy],
            replace(context, analysis=report),
            summary=f"{strategy.value} signal for {context.symbol}",
            **options,
        )
        return with_fields_of(
            SymbolAnalysis,
            report.indicators,
            symbol=context.symbol,
            analysis_signal=report.signal,
            analysis_confidence=report.confidence,
            signal=signal,
        )


def summarise(analyses: list[SymbolAnalysis], failures: list[SymbolFailure]) -> PortfolioSummary:
    """The fan-in aggregate of ``analyses`` (at least one)."""
    by_signal: dict[Signal, list[str]] = {signal: [] for signal in Signal}
    for analysis in analyses:
        by_signal[analysis.signal.signal].append(analysis.symbol)
    buys = [a for a in analyses if a.signal.signal is Signal.BUY]
    # Ties go to the symbol listed first.
    strongest = max(buys, key=lambda a: (a.signal.strength, -analyses.index(a)), default=None)
    regimes = {regime.value: 0 for regime in VolatilityRegime}
    for analysis in analyses:
        regimes[analysis.volatility_regime.value] += 1
    return PortfolioSummary(
        analysed=len(analyses),
        failed=len(failures),
        buy=by_signal[Signal.BUY],
        sell=by_signal[Signal.SELL],
        hold=by_signal[Signal.HOLD],
        strongest_buy=strongest.symbol if strongest else None,
        average_volatility=round(sum(a.volatility for a in analyses) / len(analyses), 6),
        regimes=regimes,
    )


WORKFLOWS: list[type] = [PortfolioAnalysisWorkflow]

__all__ = [
    "DEFAULT_PORTFOLIO",
    "NO_SYMBOL_ANALYSED",
    "WORKFLOWS",
    "PortfolioAnalysisInput",
    "PortfolioAnalysisResult",
    "PortfolioAnalysisWorkflow",
    "PortfolioSummary",
    "SymbolAnalysis",
    "SymbolFailure",
    "summarise",
]
