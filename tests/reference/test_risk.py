"""Risk metrics: VaR by hand, position-size limits, score bounds and monotonicity."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from reference_workflows.analysis import INSUFFICIENT_MARKET_DATA, compute_indicators
from reference_workflows.market import MarketDataService
from reference_workflows.models import (
    MarketDataRequest,
    RiskAssessmentRequest,
    Side,
    Strategy,
    TradeRequest,
    Trend,
    VolatilityRegime,
)
from reference_workflows.risk import (
    INVALID_TRADE_REQUEST,
    RISK_THRESHOLD,
    assess_risk,
    evaluate_risk,
    historical_var,
    position_size,
    risk_score,
    simple_returns,
    trend_penalty,
)

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)


def _request(symbol: str, **trade: object) -> RiskAssessmentRequest:
    data = MarketDataService().load(MarketDataRequest(symbol, as_of=AS_OF))
    return RiskAssessmentRequest(TradeRequest(symbol, **trade), data, compute_indicators(data))  # type: ignore[arg-type]


def test_threshold_is_the_articles() -> None:
    assert RISK_THRESHOLD == 0.7


def test_simple_returns() -> None:
    assert simple_returns([100, 110, 99]) == pytest.approx([0.10, -0.10])


def test_historical_var_interpolates_the_loss_quantile() -> None:
    returns = [0.03, -0.05, 0.0, 0.01, -0.02]  # sorted: -0.05, -0.02, 0.0, 0.01, 0.03
    # 95%: position (1 - 0.95) * (5 - 1) = 0.2 -> -0.05 + 0.2 * (-0.02 - -0.05) = -0.044
    assert historical_var(returns, 0.95) == pytest.approx(0.044)
    # 75%: position 0.25 * 4 = 1.0 -> exactly the second smallest, -0.02
    assert historical_var(returns, 0.75) == pytest.approx(0.02)
    assert historical_var([0.01, 0.02, 0.03]) == 0.0  # no losses, nothing at risk
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        historical_var(returns, 1.5)


def test_position_size_takes_the_tightest_limit() -> None:
    # risk budget: 100_000 * 2% / (100 * 2%) = 1_000 shares; concentration: 25_000 / 100 = 250
    assert (
        position_size(100.0, account_equity=100_000, available_cash=100_000, value_at_risk=0.02)
        == 250
    )
    # cash: 10_000 / 100 = 100
    assert (
        position_size(100.0, account_equity=100_000, available_cash=10_000, value_at_risk=0.02)
        == 100
    )
    # risky: budget 2_000 / (100 * 10%) = 200
    assert (
        position_size(100.0, account_equity=100_000, available_cash=100_000, value_at_risk=0.10)
        == 200
    )
    assert (
        position_size(100.0, account_equity=100_000, available_cash=99.0, value_at_risk=0.02) == 0
    )
    assert position_size(100.0, account_equity=100_000, available_cash=-5.0, value_at_risk=0.0) == 0


def test_trend_penalty_punishes_fighting_the_trend() -> None:
    assert trend_penalty(Trend.DOWN, Strategy.MOMENTUM, Side.BUY) == 0.2
    assert trend_penalty(Trend.UP, Strategy.MOMENTUM, Side.BUY) == 0.0
    assert trend_penalty(Trend.UP, Strategy.TREND_FOLLOWING, Side.SELL) == 0.2
    assert trend_penalty(Trend.SIDEWAYS, Strategy.MEAN_REVERSION, Side.BUY) == 0.0
    assert trend_penalty(Trend.DOWN, Strategy.ADAPTIVE, Side.BUY) == 0.1


@settings(max_examples=100, deadline=None)
@given(
    volatility=st.floats(0, 5),
    var=st.floats(0, 1),
    trend=st.sampled_from(Trend),
    strategy=st.sampled_from(Strategy),
    side=st.sampled_from(Side),
)
def test_risk_score_is_within_0_and_1(
    volatility: float, var: float, trend: Trend, strategy: Strategy, side: Side
) -> None:
    assert 0.0 <= risk_score(volatility, var, trend, strategy, side) <= 1.0


@settings(max_examples=100, deadline=None)
@given(low=st.floats(0, 0.79), bump=st.floats(0.001, 0.5), var=st.floats(0, 0.1))
def test_more_volatile_means_a_higher_score(low: float, bump: float, var: float) -> None:
    assert risk_score(low + bump, var) > risk_score(low, var)
    assert risk_score(low, var + 0.01) >= risk_score(low, var)


def test_a_volatile_symbol_scores_higher_than_an_index() -> None:
    tsla, spy = evaluate_risk(_request("TSLA")), evaluate_risk(_request("SPY"))
    assert tsla.volatility > spy.volatility
    assert tsla.value_at_risk_95 > spy.value_at_risk_95
    assert tsla.risk_score > spy.risk_score


def test_assessment_is_approved_below_the_threshold_and_explains_itself() -> None:
    assessment = evaluate_risk(_request("SPY"))
    assert assessment.risk_score <= RISK_THRESHOLD
    assert assessment.approved
    assert assessment.threshold == RISK_THRESHOLD
    assert assessment.max_notional == pytest.approx(
        assessment.max_position_size * _request("SPY").market_data.last_price, abs=0.01
    )
    assert assessment.reasons[0] == f"risk score {assessment.risk_score:.2f} <= threshold 0.70"


def test_a_score_above_the_threshold_is_not_approved() -> None:
    request = _request("AAPL", strategy=Strategy.MOMENTUM)
    wild = replace(
        request.indicators,
        volatility=1.2,
        volatility_regime=VolatilityRegime.HIGH,
        trend=Trend.DOWN,
    )
    assessment = evaluate_risk(replace(request, indicators=wild))
    assert assessment.risk_score > RISK_THRESHOLD
    assert not assessment.approved
    assert "> threshold 0.70" in assessment.reasons[0]


def test_size_is_capped_by_available_cash_and_oversized_requests_are_flagged() -> None:
    request = replace(_request("AAPL", quantity=500), available_cash=500.0)
    price = request.market_data.last_price
    assessment = evaluate_risk(request)
    assert assessment.max_position_size == int(500.0 // price)
    assert (
        f"requested 500 shares exceeds the limit of {assessment.max_position_size}"
        in assessment.reasons
    )


def test_no_affordable_share_means_no_approval() -> None:
    assessment = evaluate_risk(replace(_request("SPY"), available_cash=10.0))
    assert assessment.max_position_size == 0
    assert not assessment.approved


async def test_activity_matches_the_pure_function() -> None:
    request = _request("MSFT", strategy=Strategy.MEAN_REVERSION, side=Side.SELL)
    assert await ActivityEnvironment().run(assess_risk, request) == evaluate_risk(request)


async def test_activity_rejects_unknown_strategy_and_short_data_without_retry() -> None:
    request = _request("AAPL")
    bad_strategy = replace(request, trade=replace(request.trade, strategy="yolo"))  # type: ignore[arg-type]
    with pytest.raises(ApplicationError, match="unknown strategy 'yolo'; use one of") as raised:
        await ActivityEnvironment().run(assess_risk, bad_strategy)
    assert raised.value.type == INVALID_TRADE_REQUEST and raised.value.non_retryable

    short = replace(
        request, market_data=replace(request.market_data, bars=request.market_data.bars[:10])
    )
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(assess_risk, short)
    assert raised.value.type == INSUFFICIENT_MARKET_DATA and raised.value.non_retryable
