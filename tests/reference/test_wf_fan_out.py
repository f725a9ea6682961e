"""Fan-out / fan-in on a real server: concurrent analyses, failures collected, the aggregate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reference_fixtures import (
    AS_OF,
    BARS,
    TradingDesk,
    indicators_at,
    invalid_input_messages,
    pinned_inputs,
)
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from reference_workflows.agents import STRATEGY_SIGNALS
from reference_workflows.market import (
    INVALID_MARKET_DATA_REQUEST,
    SAMPLE_DATA_DIR,
    UNKNOWN_SYMBOL,
)
from reference_workflows.models import Signal, Strategy
from reference_workflows.workflows.fan_out import (
    DEFAULT_PORTFOLIO,
    NO_SYMBOL_ANALYSED,
    PortfolioAnalysisInput,
    PortfolioAnalysisResult,
    PortfolioAnalysisWorkflow,
)

portfolio = pinned_inputs(PortfolioAnalysisInput, bars=BARS)


async def scheduled_activities(desk: TradingDesk) -> list[str]:
    """Activity names in the order the workflow scheduled them."""
    history = await desk.history()
    names = {a.scheduled_event_id: a.name for a in history.activities()}
    return [
        names[e.event_id]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_every_symbol_is_analysed_and_aggregated(desk: TradingDesk) -> None:
    result: PortfolioAnalysisResult = await desk.run(PortfolioAnalysisWorkflow.run, portfolio())

    assert [a.symbol for a in result.analyses] == DEFAULT_PORTFOLIO
    assert result.failures == []
    for analysis in result.analyses:
        expected = STRATEGY_SIGNALS[Strategy.MOMENTUM](indicators_at(analysis.symbol, AS_OF))
        assert analysis.signal == expected
    summary = result.summary
    assert (summary.analysed, summary.failed) == (5, 0)
    assert sorted(summary.buy + summary.sell + summary.hold) == sorted(DEFAULT_PORTFOLIO)
    assert sum(summary.regimes.values()) == 5
    buys = [a for a in result.analyses if a.signal.signal is Signal.BUY]
    assert summary.strongest_buy == (
        max(buys, key=lambda a: a.signal.strength).symbol if buys else None
    )
    average = sum(a.volatility for a in result.analyses) / 5
    assert summary.average_volatility == pytest.approx(average)
    # Fan-out: every symbol's first activity was scheduled before any second one.
    names = await scheduled_activities(desk)
    assert names[:5] == ["analysis_agent"] * 5 and names[5:] == ["momentum_agent"] * 5


async def test_max_concurrency_one_analyses_the_symbols_one_by_one(desk: TradingDesk) -> None:
    result: PortfolioAnalysisResult = await desk.run(
        PortfolioAnalysisWorkflow.run, portfolio(symbols=["AAPL", "MSFT", "SPY"], max_concurrency=1)
    )

    assert result.summary.analysed == 3
    names = await scheduled_activities(desk)
    assert names == ["analysis_agent", "momentum_agent"] * 3


async def test_a_bad_ticker_is_collected_and_left_out_of_the_aggregate(desk: TradingDesk) -> None:
    result: PortfolioAnalysisResult = await desk.run(
        PortfolioAnalysisWorkflow.run,
        portfolio(symbols=["AAPL", "4X?", "msft", "MSFT"], strategy=Strategy.ADAPTIVE),
    )

    assert [a.symbol for a in result.analyses] == ["AAPL", "MSFT"]  # msft counted once
    assert all(a.signal.strategy is Strategy.ADAPTIVE for a in result.analyses)
    [failure] = result.failures
    assert (failure.symbol, failure.error_type) == ("4X?", INVALID_MARKET_DATA_REQUEST)
    assert "is not a ticker" in failure.message
    assert (result.summary.analysed, result.summary.failed) == (2, 1)


async def test_a_symbol_without_data_is_collected(make_desk: Callable[..., TradingDesk]) -> None:
    desk = make_desk(csv_dir=SAMPLE_DATA_DIR)  # real AAPL bars only

    result: PortfolioAnalysisResult = await desk.run(
        PortfolioAnalysisWorkflow.run, portfolio(symbols=["AAPL", "MSFT"])
    )

    assert [a.symbol for a in result.analyses] == ["AAPL"]
    assert [(f.symbol, f.error_type) for f in result.failures] == [("MSFT", UNKNOWN_SYMBOL)]


async def test_nothing_analysed_fails_with_every_symbol_named(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(down_exchanges=["NYSE"])

    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(PortfolioAnalysisWorkflow.run, portfolio(symbols=["AAPL", "MSFT"]))

    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == NO_SYMBOL_ANALYSED
    assert "AAPL: ExchangeUnavailable" in str(error) and "MSFT: ExchangeUnavailable" in str(error)


async def test_inputs_that_cannot_work_fail_at_once(desk: TradingDesk) -> None:
    messages = await invalid_input_messages(
        desk,
        PortfolioAnalysisWorkflow.run,
        [portfolio(symbols=[" "]), portfolio(max_concurrency=0)],
    )

    assert messages == [
        "symbols=[' ']; give at least one symbol to analyse",
        "max_concurrency=0; use 1 or more",
    ]
