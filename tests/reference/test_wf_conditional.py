"""The conditional pattern on a real server: every branch of the regime switch, every outcome.

SPY, AAPL and TSLA live in the low, normal and high volatility regimes (their simulated
volatilities are 0.15, 0.26 and 0.60 against the 0.20 and 0.45 bounds, and the tests assert
the regime they got), so each one drives one branch; ``find_as_of`` then picks a day on which
the branch's strategy gives the signal a test needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from reference_fixtures import BARS, STARTING_CASH, TradingDesk, find_as_of, pinned

from reference_workflows.agents import STRATEGY_SIGNALS
from reference_workflows.analysis import compute_indicators
from reference_workflows.models import (
    ExecutionStatus,
    MarketData,
    Side,
    Signal,
    Strategy,
    VolatilityRegime,
)
from reference_workflows.workflows.conditional import (
    REGIME_PLANS,
    ConditionalStrategyInput,
    ConditionalStrategyResult,
    ConditionalStrategyWorkflow,
)


def says(signal: Signal) -> Callable[[MarketData], bool]:
    """A market on which the strategy of its regime's branch gives ``signal``."""

    def wanted(data: MarketData) -> bool:
        indicators = compute_indicators(data)
        plan = REGIME_PLANS[indicators.volatility_regime]
        return STRATEGY_SIGNALS[plan.strategy](indicators).signal is signal

    return wanted


async def run(
    desk: TradingDesk, symbol: str, signal: Signal, **fields: object
) -> ConditionalStrategyResult:
    as_of = find_as_of(symbol, says(signal))
    request = pinned(ConditionalStrategyInput, symbol, bars=BARS, as_of=as_of, **fields)
    return await desk.run(ConditionalStrategyWorkflow.run, request)


@pytest.mark.parametrize(
    ("symbol", "regime", "strategy", "agent"),
    [
        ("SPY", VolatilityRegime.LOW, Strategy.TREND_FOLLOWING, "trend_following_agent"),
        ("AAPL", VolatilityRegime.NORMAL, Strategy.MOMENTUM, "momentum_agent"),
        ("TSLA", VolatilityRegime.HIGH, Strategy.MEAN_REVERSION, "mean_reversion_agent"),
    ],
)
async def test_each_regime_takes_its_branch_and_buys_at_its_size(
    desk: TradingDesk, symbol: str, regime: VolatilityRegime, strategy: Strategy, agent: str
) -> None:
    result = await run(desk, symbol, Signal.BUY, quantity=100)

    assert (result.regime, result.strategy) == (regime, strategy)
    assert result.signal.strategy is strategy and result.signal.signal is Signal.BUY
    expected = math.floor(100 * REGIME_PLANS[regime].position_scale)
    assert result.quantity == expected
    assert result.execution.status is ExecutionStatus.FILLED
    [fill] = desk.broker.fills()
    assert (fill.symbol, fill.side, fill.quantity) == (symbol, Side.BUY, expected)
    assert fill.price == result.analysis.indicators.last_price
    history = await desk.history()
    # Only the branch's own strategy agent ran.
    assert history.activity_names() == ["analysis_agent", agent, "execute_trade"]


async def test_a_hold_signal_skips_the_trade(desk: TradingDesk) -> None:
    result = await run(desk, "AAPL", Signal.HOLD)

    assert result.signal.signal is Signal.HOLD and result.quantity == 0
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "momentum says hold"
    assert desk.broker.fills() == []


async def test_a_sell_signal_without_shares_is_rejected_by_the_broker(desk: TradingDesk) -> None:
    result = await run(desk, "TSLA", Signal.SELL, quantity=10)

    assert result.signal.signal is Signal.SELL
    assert result.execution.status is ExecutionStatus.REJECTED
    assert (result.execution.side, result.execution.quantity) == (Side.SELL, 5)
    assert "holds 0 TSLA" in result.execution.reason
    assert desk.broker.snapshot().cash == STARTING_CASH


async def test_with_execution_off_the_signal_is_returned_untraded(desk: TradingDesk) -> None:
    result = await run(desk, "SPY", Signal.BUY, quantity=40, execute=False)

    assert result.signal.signal is Signal.BUY and result.quantity == 40
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert "execution left to the caller" in result.execution.reason
    assert desk.broker.fills() == []


async def test_a_size_that_scales_below_one_share_is_skipped(desk: TradingDesk) -> None:
    result = await run(desk, "TSLA", Signal.BUY, quantity=1)

    assert result.quantity == 0
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "1 shares at 50% is below 1 share"
    assert desk.broker.fills() == []
