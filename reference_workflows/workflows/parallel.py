"""Parallel: independent requests run at once, and one that fails does not sink the rest.

``ParallelMarketDataWorkflow`` fetches one symbol's bars from several exchanges concurrently.
Each fetch is its own activity with its own retries; an exchange that still fails after them is
reported in ``failures`` with its error type, and the workflow goes on with the exchanges that
answered. Only when fewer than ``min_sources`` answered does the workflow fail, with a
non-retryable ``InsufficientMarketSources`` error that lists every exchange's failure.

The venues are compared in the result: the last price on each, the most liquid venue (highest
average volume: the best place to trade) and the spread of last prices across venues.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.market import MarketDataService
    from reference_workflows.models import MarketData, MarketDataRequest
    from reference_workflows.workflows.common import (
        DEFAULT_EXCHANGES,
        MarketInput,
        SourceFailure,
        error_message,
        error_type,
        invalid_input,
        too_few_sources,
    )


@dataclass
class ParallelMarketDataInput(MarketInput):
    """Fetch ``symbol`` from each of ``exchanges`` at once; ``min_sources`` must answer."""

    symbol: str
    exchanges: list[str] = field(default_factory=lambda: list(DEFAULT_EXCHANGES))
    min_sources: int = 1
    timeframe: str = "1d"
    bars: int = 60


@dataclass
class ExchangeSnapshot:
    """What one exchange answered, summarised (the bars themselves stay in the history)."""

    exchange: str
    bars: int
    last_price: float
    last_bar_at: datetime
    period_high: float
    period_low: float
    average_volume: float
    source: str


@dataclass
class ExchangeFailure(SourceFailure):
    """An exchange that did not answer, after its retries."""


@dataclass
class ParallelMarketDataResult:
    """Every exchange's answer or failure, in the order the exchanges were asked for."""

    symbol: str
    snapshots: list[ExchangeSnapshot]
    failures: list[ExchangeFailure]
    most_liquid_exchange: str
    average_last_price: float
    price_spread: float
    """(highest - lowest last price) / average: how far the venues disagree."""


@workflow.defn
class ParallelMarketDataWorkflow:
    """One fetch per exchange, all at once; failures collected, not fatal."""

    @workflow.run
    async def run(self, request: ParallelMarketDataInput) -> ParallelMarketDataResult:
        exchanges = [exchange.strip().upper() for exchange in request.exchanges]
        if not exchanges or len(set(exchanges)) != len(exchanges):
            raise invalid_input(f"exchanges={request.exchanges!r}; list each exchange once")
        if not 1 <= request.min_sources <= len(exchanges):
            raise invalid_input(
                f"min_sources={request.min_sources!r} must be between 1 and {len(exchanges)}"
            )
        as_of = request.as_of or workflow.now()
        # gather keeps the order of `exchanges`, so the result (and the history) is the same
        # whichever exchange answers first.
        outcomes = await asyncio.gather(
            *(self._fetch(request, exchange, as_of) for exchange in exchanges)
        )
        snapshots = [o for o in outcomes if isinstance(o, ExchangeSnapshot)]
        failures = [o for o in outcomes if isinstance(o, ExchangeFailure)]
        if len(snapshots) < request.min_sources:
            raise too_few_sources(
                request.symbol, exchanges, len(snapshots), request.min_sources, failures
            )
        prices = [s.last_price for s in snapshots]
        average = sum(prices) / len(prices)
        # Ties go to the exchange listed first.
        liquid = max(snapshots, key=lambda s: (s.average_volume, -snapshots.index(s)))
        return ParallelMarketDataResult(
            request.symbol,
            snapshots,
            failures,
            most_liquid_exchange=liquid.exchange,
            average_last_price=round(average, 4),
            price_spread=round((max(prices) - min(prices)) / average, 6),
        )

    async def _fetch(
        self, request: ParallelMarketDataInput, exchange: str, as_of: datetime
    ) -> ExchangeSnapshot | ExchangeFailure:
        try:
            data: MarketData = await workflow.execute_activity_method(
                MarketDataService.fetch_market_data,
                MarketDataRequest(request.symbol, exchange, request.timeframe, request.bars, as_of),
                summary=f"market data from {exchange}",
                **request.market_data_options(),
            )
        except ActivityError as error:
            # Only activity failures are an exchange's problem; cancellation propagates.
            return ExchangeFailure(exchange, error_type(error), error_message(error))
        return ExchangeSnapshot(
            exchange=data.exchange,
            bars=len(data.bars),
            last_price=data.last_price,
            last_bar_at=data.bars[-1].timestamp,
            period_high=max(bar.high for bar in data.bars),
            period_low=min(bar.low for bar in data.bars),
            average_volume=round(sum(bar.volume for bar in data.bars) / len(data.bars), 1),
            source=data.source,
        )


WORKFLOWS: list[type] = [ParallelMarketDataWorkflow]

__all__ = [
    "WORKFLOWS",
    "ExchangeFailure",
    "ExchangeSnapshot",
    "ParallelMarketDataInput",
    "ParallelMarketDataResult",
    "ParallelMarketDataWorkflow",
]
