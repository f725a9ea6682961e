"""Risk metrics (historical VaR, position sizing, a 0-to-1 risk score) and the risk activity.

The score is deliberately simple enough to reason about in a test: half of it is volatility,
three tenths is one-day 95% VaR, and up to two tenths penalise a trade that fights the trend its
strategy depends on. A trade whose score exceeds ``RISK_THRESHOLD`` is not approved.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from temporalio import activity

from .analysis import InsufficientMarketDataError
from .models import (
    RiskAssessment,
    RiskAssessmentRequest,
    Side,
    Strategy,
    TradingError,
    Trend,
)

RISK_THRESHOLD = 0.7
"""Risk scores above this are skipped by the automated trading workflow."""
RISK_PER_TRADE = 0.02
"""Fraction of equity a trade may lose on a one-day 95% VaR move (the risk budget)."""
MAX_POSITION_FRACTION = 0.25
"""No single position may exceed this fraction of equity."""
VOLATILITY_CEILING = 0.80
"""Annualised volatility at which the volatility part of the score saturates."""
VAR_CEILING = 0.06
"""One-day VaR at which the VaR part of the score saturates."""
MIN_PRICES_FOR_VAR = 21
"""Twenty returns: fewer make the 5% tail a guess."""
INVALID_TRADE_REQUEST = "InvalidTradeRequest"


class InvalidTradeRequestError(TradingError, error_type=INVALID_TRADE_REQUEST):
    """The trade names an unknown strategy or side."""


def parse_strategy(strategy: object) -> Strategy:
    """``strategy`` as an enum (workflows may pass a plain string).

    Raises:
        InvalidTradeRequestError: an unknown strategy; the message lists the valid ones.
    """
    try:
        return Strategy(strategy)
    except ValueError:
        valid = [s.value for s in Strategy]
        raise InvalidTradeRequestError(
            f"unknown strategy {strategy!r}; use one of {valid}"
        ) from None


def parse_trade_terms(strategy: object, side: object) -> tuple[Strategy, Side]:
    """``strategy`` and ``side`` as enums (workflows may pass plain strings).

    Raises:
        InvalidTradeRequestError: an unknown value; the message lists the valid ones.
    """
    parsed_strategy = parse_strategy(strategy)
    try:
        parsed_side = Side(side)
    except ValueError:
        raise InvalidTradeRequestError(
            f"unknown side {side!r}; use one of {[s.value for s in Side]}"
        ) from None
    return parsed_strategy, parsed_side


def simple_returns(prices: Sequence[float]) -> list[float]:
    """``p[i] / p[i-1] - 1`` for consecutive prices."""
    if len(prices) < 2:
        raise ValueError(f"returns need at least 2 prices, got {len(prices)}")
    return [b / a - 1.0 for a, b in itertools.pairwise(prices)]


def historical_var(returns: Sequence[float], confidence: float = 0.95) -> float:
    """Historical value at risk: the loss (as a positive fraction) not exceeded with
    ``confidence``, i.e. minus the ``1 - confidence`` quantile of ``returns``.

    The quantile interpolates linearly between order statistics at position
    ``(1 - confidence) * (n - 1)`` (numpy's default), so small samples give smooth answers.
    A sample with no losses in its tail has a VaR of 0.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if len(returns) < 2:
        raise ValueError(f"VaR needs at least 2 returns, got {len(returns)}")
    ordered = sorted(returns)
    position = (1.0 - confidence) * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    quantile = ordered[below] + (position - below) * (ordered[above] - ordered[below])
    return max(0.0, -quantile)


def position_size(
    price: float,
    *,
    account_equity: float,
    available_cash: float,
    value_at_risk: float,
    risk_per_trade: float = RISK_PER_TRADE,
    max_position_fraction: float = MAX_POSITION_FRACTION,
) -> int:
    """Whole shares a trade may hold: the smallest of the risk budget, the concentration cap
    and what the cash can pay for.

    Risk budget (fixed fractional): ``account_equity * risk_per_trade`` divided by the money
    one share loses on a VaR move, ``price * value_at_risk``.
    """
    if price <= 0:
        raise ValueError(f"price must be positive, got {price!r}")
    limits = [
        math.floor(account_equity * max_position_fraction / price),
        math.floor(max(available_cash, 0.0) / price),
    ]
    if value_at_risk > 0:
        limits.append(math.floor(account_equity * risk_per_trade / (price * value_at_risk)))
    return max(0, min(limits))


def trend_penalty(trend: Trend, strategy: Strategy, side: Side) -> float:
    """Up to 0.2 for trading against the market condition the strategy relies on."""
    against = Trend.DOWN if side is Side.BUY else Trend.UP
    if strategy is Strategy.MEAN_REVERSION:
        # Built for ranges; any trend risks "catching a falling knife".
        return 0.0 if trend is Trend.SIDEWAYS else 0.1
    penalty = 0.2 if trend is against else 0.1 if trend is Trend.SIDEWAYS else 0.0
    # Adaptive switches to mean reversion in ranges, so it is only half exposed.
    return penalty / 2 if strategy is Strategy.ADAPTIVE else penalty


def risk_score(
    volatility: float,
    value_at_risk: float,
    trend: Trend = Trend.SIDEWAYS,
    strategy: Strategy = Strategy.MOMENTUM,
    side: Side = Side.BUY,
) -> float:
    """Risk in [0, 1]; rises with volatility and VaR, and when the trade fights the trend."""
    volatility_part = min(max(volatility, 0.0) / VOLATILITY_CEILING, 1.0)
    var_part = min(max(value_at_risk, 0.0) / VAR_CEILING, 1.0)
    score = 0.5 * volatility_part + 0.3 * var_part + trend_penalty(trend, strategy, side)
    return min(max(score, 0.0), 1.0)


def evaluate_risk(
    request: RiskAssessmentRequest, threshold: float = RISK_THRESHOLD
) -> RiskAssessment:
    """The risk assessment for ``request`` (pure; the activity and the risk agent share it).

    Raises:
        InsufficientMarketDataError: fewer than ``MIN_PRICES_FOR_VAR`` closes.
        InvalidTradeRequestError: an unknown strategy or side.
    """
    trade, indicators = request.trade, request.indicators
    strategy, side = parse_trade_terms(trade.strategy, trade.side)
    closes = request.market_data.closes
    if len(closes) < MIN_PRICES_FOR_VAR:
        raise InsufficientMarketDataError(
            f"risk for {trade.symbol!r} needs at least {MIN_PRICES_FOR_VAR} closes, got "
            f"{len(closes)}; request more bars"
        )
    var_95 = historical_var(simple_returns(closes), 0.95)
    price = closes[-1]
    cash = request.account_equity if request.available_cash is None else request.available_cash
    max_shares = position_size(
        price,
        account_equity=request.account_equity,
        # Selling needs shares, not cash; the broker checks the holding.
        available_cash=cash if side is Side.BUY else request.account_equity,
        value_at_risk=var_95,
    )
    score = risk_score(indicators.volatility, var_95, indicators.trend, strategy, side)
    approved = score <= threshold and max_shares > 0
    verdict = "<=" if score <= threshold else ">"
    reasons = [
        f"risk score {score:.2f} {verdict} threshold {threshold:.2f}",
        f"annualised volatility {indicators.volatility:.1%} ({indicators.volatility_regime.value})",
        f"one-day 95% VaR {var_95:.2%} of position value",
        f"{side.value} with {strategy.value} in a {indicators.trend.value} trend",
    ]
    if max_shares == 0:
        reasons.append(f"cash {cash:,.2f} cannot buy one share at {price:,.2f}")
    requested = _requested_shares(trade.quantity, trade.notional, price)
    if requested is not None and requested > max_shares:
        reasons.append(f"requested {requested} shares exceeds the limit of {max_shares}")
    return RiskAssessment(
        symbol=trade.symbol,
        strategy=strategy,
        volatility=indicators.volatility,
        value_at_risk_95=var_95,
        max_position_size=max_shares,
        max_notional=round(max_shares * price, 2),
        risk_score=score,
        threshold=threshold,
        approved=approved,
        reasons=reasons,
    )


def _requested_shares(quantity: int | None, notional: float | None, price: float) -> int | None:
    if quantity is not None:
        return quantity
    if notional is not None:
        return math.floor(notional / price)
    return None


@activity.defn
async def assess_risk(request: RiskAssessmentRequest) -> RiskAssessment:
    """Activity: score the trade; ``approved`` is False above ``RISK_THRESHOLD``.

    Raises ``ApplicationError`` of type ``InsufficientMarketData`` or ``InvalidTradeRequest``
    (neither retryable).
    """
    try:
        return evaluate_risk(request)
    except TradingError as error:
        raise error.to_application_error() from error
