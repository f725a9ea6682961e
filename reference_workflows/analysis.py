"""Technical indicators as pure functions over closing prices, and the activity that applies them.

Conventions, chosen because they are the ones traders' tools print:

- EMA uses ``alpha = 2 / (span + 1)`` and is seeded with the SMA of the first ``span`` values.
- RSI uses Wilder's smoothing: the first average gain/loss is a plain mean over ``period``
  changes, then ``avg = (avg * (period - 1) + current) / period``.
- MACD is EMA(12) - EMA(26); its signal line is the EMA(9) of the MACD line.
- Bollinger bands are the SMA(20) +/- 2 population standard deviations.
- Volatility is the sample standard deviation of log returns, annualised by sqrt(periods/year).

Every function takes prices oldest first and raises ``ValueError`` saying how many points it
needs when the series is too short.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

from temporalio import activity

from .market import PERIODS_PER_YEAR
from .models import MarketData, TechnicalIndicators, TradingError, Trend, VolatilityRegime

LOW_VOLATILITY = 0.20
"""Annualised volatility below which the regime is LOW."""
HIGH_VOLATILITY = 0.45
"""Annualised volatility above which the regime is HIGH."""
TREND_THRESHOLD = 0.01
"""SMA(20) must sit this fraction above/below SMA(50) to call a trend."""
MIN_BARS_FOR_INDICATORS = 50
"""SMA(50) is the longest look-back of ``calculate_technical_indicators``."""
INSUFFICIENT_MARKET_DATA = "InsufficientMarketData"


class InsufficientMarketDataError(TradingError, error_type=INSUFFICIENT_MARKET_DATA):
    """Too few bars to compute the indicators; ask for more."""


class Macd(NamedTuple):
    """Latest MACD line, signal line and their difference."""

    macd: float
    signal: float
    histogram: float


class Bollinger(NamedTuple):
    """Latest Bollinger bands."""

    upper: float
    middle: float
    lower: float


def _require(values: Sequence[float], needed: int, what: str) -> None:
    if needed < 1:
        raise ValueError(f"{what}: the window must be at least 1, got {needed}")
    if len(values) < needed:
        raise ValueError(
            f"{what} needs at least {needed} prices, got {len(values)}; fetch more bars"
        )


def sma(values: Sequence[float], window: int) -> float:
    """Simple moving average of the last ``window`` values."""
    _require(values, window, f"SMA({window})")
    return sum(values[-window:]) / window


def ema_series(values: Sequence[float], span: int) -> list[float]:
    """EMA at every point from index ``span - 1`` on (so ``len(values) - span + 1`` values)."""
    _require(values, span, f"EMA({span})")
    alpha = 2.0 / (span + 1)
    series = [sum(values[:span]) / span]
    for value in values[span:]:
        series.append(alpha * value + (1 - alpha) * series[-1])
    return series


def ema(values: Sequence[float], span: int) -> float:
    """Latest exponential moving average."""
    return ema_series(values, span)[-1]


def rsi(values: Sequence[float], period: int = 14) -> float:
    """Relative strength index with Wilder smoothing, in [0, 100]; needs ``period + 1`` prices."""
    _require(values, period + 1, f"RSI({period})")
    changes = [b - a for a, b in itertools.pairwise(values)]
    avg_gain = sum(max(c, 0.0) for c in changes[:period]) / period
    avg_loss = sum(max(-c, 0.0) for c in changes[:period]) / period
    for change in changes[period:]:
        avg_gain = (avg_gain * (period - 1) + max(change, 0.0)) / period
        avg_loss = (avg_loss * (period - 1) + max(-change, 0.0)) / period
    if avg_loss == 0.0:
        # No losses: maximal strength; a flat series has no strength either way.
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def macd(values: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD(fast, slow, signal); needs ``slow + signal - 1`` prices (34 by default)."""
    if fast >= slow:
        raise ValueError(f"MACD: fast span {fast} must be shorter than slow span {slow}")
    _require(values, slow + signal - 1, f"MACD({fast},{slow},{signal})")
    fast_series = ema_series(values, fast)[slow - fast :]  # align both to start at index slow-1
    line = [f - s for f, s in zip(fast_series, ema_series(values, slow), strict=True)]
    signal_line = ema_series(line, signal)
    return Macd(line[-1], signal_line[-1], line[-1] - signal_line[-1])


def bollinger(values: Sequence[float], window: int = 20, num_std: float = 2.0) -> Bollinger:
    """Bollinger bands around SMA(window), using the population standard deviation."""
    middle = sma(values, window)
    variance = sum((v - middle) ** 2 for v in values[-window:]) / window
    spread = num_std * math.sqrt(variance)
    return Bollinger(middle + spread, middle, middle - spread)


def classify_trend(
    values: Sequence[float], fast: int = 20, slow: int = 50, threshold: float = TREND_THRESHOLD
) -> Trend:
    """UP when SMA(fast) is ``threshold`` above SMA(slow) and price is above SMA(fast); DOWN
    for the mirror image; SIDEWAYS otherwise (including when price and averages disagree)."""
    slow_average = sma(values, slow)
    fast_average = sma(values, fast)
    spread = (fast_average - slow_average) / slow_average
    if spread > threshold and values[-1] > fast_average:
        return Trend.UP
    if spread < -threshold and values[-1] < fast_average:
        return Trend.DOWN
    return Trend.SIDEWAYS


def log_returns(values: Sequence[float]) -> list[float]:
    """``ln(p[i] / p[i-1])`` for consecutive prices."""
    _require(values, 2, "Returns")
    if min(values) <= 0:
        raise ValueError("returns need positive prices; found a price <= 0")
    return [math.log(b / a) for a, b in itertools.pairwise(values)]


def annualised_volatility(values: Sequence[float], periods_per_year: float = 252) -> float:
    """Sample standard deviation of log returns times ``sqrt(periods_per_year)``."""
    _require(values, 3, "Volatility")
    returns = log_returns(values)
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance * periods_per_year)


def classify_volatility(
    volatility: float, low: float = LOW_VOLATILITY, high: float = HIGH_VOLATILITY
) -> VolatilityRegime:
    """LOW below ``low``, HIGH above ``high``, NORMAL in between (bounds inclusive)."""
    if volatility < low:
        return VolatilityRegime.LOW
    if volatility > high:
        return VolatilityRegime.HIGH
    return VolatilityRegime.NORMAL


def compute_indicators(data: MarketData) -> TechnicalIndicators:
    """Every indicator for ``data`` (pure; the activity and the agents share it).

    Raises:
        InsufficientMarketDataError: fewer than ``MIN_BARS_FOR_INDICATORS`` bars.
    """
    closes = data.closes
    if len(closes) < MIN_BARS_FOR_INDICATORS:
        raise InsufficientMarketDataError(
            f"indicators for {data.symbol!r} need at least {MIN_BARS_FOR_INDICATORS} bars, got "
            f"{len(closes)}; request bars>={MIN_BARS_FOR_INDICATORS}"
        )
    volatility = annualised_volatility(closes, PERIODS_PER_YEAR.get(data.timeframe, 252))
    macd_now = macd(closes)
    bands = bollinger(closes)
    return TechnicalIndicators(
        symbol=data.symbol,
        last_price=closes[-1],
        sma_20=sma(closes, 20),
        sma_50=sma(closes, 50),
        ema_12=ema(closes, 12),
        ema_26=ema(closes, 26),
        rsi_14=rsi(closes, 14),
        macd=macd_now.macd,
        macd_signal=macd_now.signal,
        macd_histogram=macd_now.histogram,
        bollinger_upper=bands.upper,
        bollinger_middle=bands.middle,
        bollinger_lower=bands.lower,
        trend=classify_trend(closes),
        volatility=volatility,
        volatility_regime=classify_volatility(volatility),
    )


@activity.defn
async def calculate_technical_indicators(data: MarketData) -> TechnicalIndicators:
    """Activity: the indicator set for ``data``.

    Raises ``ApplicationError`` of type ``InsufficientMarketData`` (not retryable: the same
    input would fail again) when there are fewer than 50 bars.
    """
    try:
        return compute_indicators(data)
    except TradingError as error:
        raise error.to_application_error() from error
