"""Indicators checked against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from reference_workflows.analysis import (
    INSUFFICIENT_MARKET_DATA,
    InsufficientMarketDataError,
    annualised_volatility,
    bollinger,
    calculate_technical_indicators,
    classify_trend,
    classify_volatility,
    compute_indicators,
    ema,
    ema_series,
    macd,
    rsi,
    sma,
)
from reference_workflows.market import MarketDataService
from reference_workflows.models import Bar, MarketData, MarketDataRequest, Trend, VolatilityRegime

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)


def test_sma_averages_the_last_window_values() -> None:
    # SMA3 of [1, 2, 3, 4, 5] = (3 + 4 + 5) / 3 = 4
    assert sma([1, 2, 3, 4, 5], 3) == pytest.approx(4.0)
    assert sma([1, 2, 3, 4, 5], 5) == pytest.approx(3.0)


def test_ema_is_seeded_with_the_sma_then_smoothed_with_alpha_2_over_n_plus_1() -> None:
    # span 3: alpha = 2 / 4 = 0.5; seed = SMA(1, 2, 3) = 2
    #   x=4: 0.5 * 4 + 0.5 * 2 = 3;  x=5: 0.5 * 5 + 0.5 * 3 = 4
    assert ema_series([1, 2, 3, 4, 5], 3) == pytest.approx([2.0, 3.0, 4.0])
    # span 4: alpha = 0.4; seed = (2 + 4 + 6 + 8) / 4 = 5
    #   x=10: 0.4 * 10 + 0.6 * 5 = 7;  x=12: 0.4 * 12 + 0.6 * 7 = 9
    assert ema([2, 4, 6, 8, 10, 12], 4) == pytest.approx(9.0)


def test_rsi_uses_wilder_smoothing() -> None:
    # period 3, prices 10, 11, 10.5, 11.5, 12 -> changes +1, -0.5, +1, +0.5
    # first averages over 3 changes: gain (1 + 0 + 1) / 3 = 2/3, loss (0 + 0.5 + 0) / 3 = 1/6
    # Wilder step with +0.5: gain (2/3 * 2 + 0.5) / 3 = 11/18, loss (1/6 * 2 + 0) / 3 = 1/9
    # RS = (11/18) / (1/9) = 5.5 -> RSI = 100 - 100 / 6.5 = 84.615...
    assert rsi([10, 11, 10.5, 11.5, 12], 3) == pytest.approx(100 - 100 / 6.5)
    # one more change, -1: gain (11/18 * 2 + 0) / 3 = 11/27, loss (1/9 * 2 + 1) / 3 = 11/27
    # RS = 1 -> RSI = 50
    assert rsi([10, 11, 10.5, 11.5, 12, 11], 3) == pytest.approx(50.0)


def test_rsi_of_a_series_without_losses_is_100_and_of_a_flat_series_50() -> None:
    assert rsi([1, 2, 3, 4], 3) == 100.0
    assert rsi([5, 5, 5, 5], 3) == 50.0


def test_macd_by_hand_with_short_spans() -> None:
    # prices 1, 2, 4, 8, 16; fast 2 (alpha 2/3), slow 3 (alpha 1/2), signal 2 (alpha 2/3)
    # EMA2: seed (1+2)/2 = 3/2; then 2/3*4 + 1/3*3/2 = 19/6; 2/3*8 + 1/3*19/6 = 115/18;
    #       2/3*16 + 1/3*115/18 = 691/54
    # EMA3: seed (1+2+4)/3 = 7/3; then 1/2*8 + 1/2*7/3 = 31/6; 1/2*16 + 1/2*31/6 = 127/12
    # MACD line (from the 3rd price): 19/6-7/3 = 5/6; 115/18-31/6 = 11/9; 691/54-127/12 = 239/108
    # signal: seed (5/6 + 11/9)/2 = 37/36; then 2/3*239/108 + 1/3*37/36 = 589/324
    result = macd([1, 2, 4, 8, 16], fast=2, slow=3, signal=2)
    assert result.macd == pytest.approx(239 / 108)
    assert result.signal == pytest.approx(589 / 324)
    assert result.histogram == pytest.approx(239 / 108 - 589 / 324)


def test_macd_default_spans_need_34_prices() -> None:
    with pytest.raises(ValueError, match=r"MACD\(12,26,9\) needs at least 34 prices, got 33"):
        macd([float(i) for i in range(1, 34)])
    assert macd([float(i) for i in range(1, 35)]).macd > 0  # rising prices: fast EMA above slow


def test_bollinger_uses_the_population_standard_deviation() -> None:
    # [2, 4, 4, 4, 5, 5, 7, 9]: mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32/8 = 4 -> sd 2
    bands = bollinger([2, 4, 4, 4, 5, 5, 7, 9], window=8, num_std=2)
    assert (bands.upper, bands.middle, bands.lower) == pytest.approx((9.0, 5.0, 1.0))


def test_volatility_is_annualised_sample_deviation_of_log_returns() -> None:
    # returns ln(1.1) and ln(0.9); the sample sd of two values is |r1 - r2| / sqrt(2)
    # so vol = ln(1.1 / 0.9) / sqrt(2) * sqrt(252) = ln(11/9) * sqrt(126)
    assert annualised_volatility([100, 110, 99]) == pytest.approx(math.log(11 / 9) * math.sqrt(126))
    assert annualised_volatility([100, 110, 99], periods_per_year=1) == pytest.approx(
        math.log(11 / 9) / math.sqrt(2)
    )


def test_classify_trend() -> None:
    flat = [100.0] * 30
    rising = flat + [100.0 + i for i in range(1, 21)]  # SMA20 110.5, SMA50 104.2: +6%, last 120
    falling = flat + [100.0 - i for i in range(1, 21)]
    assert classify_trend(rising) is Trend.UP
    assert classify_trend(falling) is Trend.DOWN
    assert classify_trend([100.0] * 50) is Trend.SIDEWAYS
    # averages say "up" but the last price dropped below SMA20: not a confirmed trend
    assert classify_trend([*rising[:-1], 100.0]) is Trend.SIDEWAYS


def test_classify_volatility_boundaries() -> None:
    assert classify_volatility(0.19) is VolatilityRegime.LOW
    assert classify_volatility(0.20) is VolatilityRegime.NORMAL
    assert classify_volatility(0.45) is VolatilityRegime.NORMAL
    assert classify_volatility(0.46) is VolatilityRegime.HIGH


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sma([1.0, 2.0], 3), r"SMA\(3\) needs at least 3 prices, got 2"),
        (lambda: ema([1.0] * 11, 12), r"EMA\(12\) needs at least 12 prices, got 11"),
        (lambda: rsi([1.0] * 14), r"RSI\(14\) needs at least 15 prices, got 14"),
        (lambda: bollinger([1.0] * 19), r"SMA\(20\) needs at least 20 prices, got 19"),
        (lambda: classify_trend([1.0] * 49), r"SMA\(50\) needs at least 50 prices, got 49"),
        (lambda: annualised_volatility([1.0, 2.0]), r"Volatility needs at least 3 prices"),
        (lambda: sma([1.0], 0), r"window must be at least 1"),
    ],
)
def test_short_series_say_how_many_points_they_need(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1_000.0), min_size=15, max_size=60))
def test_rsi_is_bounded_and_ema_stays_within_the_range(prices: list[float]) -> None:
    assert 0.0 <= rsi(prices) <= 100.0
    assert min(prices) - 1e-9 <= ema(prices, 12) <= max(prices) + 1e-9


def _market_data(count: int) -> MarketData:
    return MarketDataService().load(MarketDataRequest("AAPL", bars=count, as_of=AS_OF))


def test_compute_indicators_agrees_with_the_pure_functions() -> None:
    data = _market_data(120)
    closes = data.closes
    indicators = compute_indicators(data)
    assert indicators.last_price == closes[-1]
    assert indicators.sma_20 == pytest.approx(sum(closes[-20:]) / 20)
    assert indicators.sma_50 == pytest.approx(sum(closes[-50:]) / 50)
    assert indicators.macd_histogram == pytest.approx(indicators.macd - indicators.macd_signal)
    assert indicators.bollinger_lower < indicators.bollinger_middle < indicators.bollinger_upper
    assert indicators.bollinger_middle == pytest.approx(indicators.sma_20)
    assert 0 <= indicators.rsi_14 <= 100
    # AAPL's simulated profile has 26% volatility; 120 bars estimate it within a wide band
    assert 0.15 < indicators.volatility < 0.40
    assert indicators.volatility_regime is classify_volatility(indicators.volatility)


def test_intraday_volatility_is_annualised_with_intraday_periods() -> None:
    data = MarketDataService().load(
        MarketDataRequest("AAPL", timeframe="1h", bars=400, as_of=AS_OF)
    )
    assert 0.15 < compute_indicators(data).volatility < 0.40


async def test_activity_computes_indicators() -> None:
    data = _market_data(60)
    indicators = await ActivityEnvironment().run(calculate_technical_indicators, data)
    assert indicators == compute_indicators(data)


async def test_activity_rejects_too_few_bars_without_retry() -> None:
    bar = Bar(AS_OF, 1.0, 1.0, 1.0, 1.0, 1)
    data = MarketData(
        "AAPL",
        "NYSE",
        "1d",
        [
            Bar(AS_OF + timedelta(days=i), bar.open, bar.high, bar.low, bar.close, 1)
            for i in range(49)
        ],
    )
    with pytest.raises(InsufficientMarketDataError, match="at least 50 bars, got 49"):
        compute_indicators(data)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(calculate_technical_indicators, data)
    assert raised.value.type == INSUFFICIENT_MARKET_DATA
    assert raised.value.non_retryable
