"""Every model survives Temporal's default data converter unchanged."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime, timezone

import pytest
from temporalio.converter import DataConverter

from reference_workflows import models
from reference_workflows.models import (
    AccountRequest,
    AccountSnapshot,
    ActionRequest,
    AgentContext,
    AgentDecision,
    AnalysisReport,
    Bar,
    CancelOrderRequest,
    ConfirmExecutionRequest,
    Consensus,
    ConsensusRequest,
    ExecuteTradeRequest,
    ExecutionStatus,
    Fill,
    MarketData,
    MarketDataRequest,
    Order,
    OrderRequest,
    OrderStatus,
    OrderStatusRequest,
    Position,
    Quote,
    ReleaseCapitalRequest,
    ResearchReport,
    Reservation,
    ReservationStatus,
    ReserveCapitalRequest,
    RiskAssessment,
    RiskAssessmentRequest,
    Side,
    Signal,
    Strategy,
    StrategySignal,
    TechnicalIndicators,
    TradeExecution,
    TradeRequest,
    TradingPlan,
    Trend,
    VolatilityRegime,
)

NOW = datetime(2024, 6, 28, 20, 0, tzinfo=timezone.utc)
BAR = Bar(NOW, 100.0, 101.5, 99.25, 101.0, 1_250_000)
DATA = MarketData("AAPL", "NYSE", "1d", [BAR, BAR], source="csv")
INDICATORS = TechnicalIndicators(
    "AAPL",
    101.0,
    100.1,
    98.7,
    100.5,
    99.9,
    55.5,
    0.6,
    0.4,
    0.2,
    104.0,
    100.1,
    96.2,
    Trend.UP,
    0.26,
    VolatilityRegime.NORMAL,
)
TRADE = TradeRequest("AAPL", Strategy.TREND_FOLLOWING, Side.SELL, quantity=10, notional=None)
RISK = RiskAssessment(
    "AAPL", Strategy.MOMENTUM, 0.26, 0.021, 119, 24_934.07, 0.31, 0.7, True, ["fine"]
)
RESEARCH = ResearchReport("AAPL", 101.0, 0.05, 105.0, 95.0, 5e7, 0.3, "bullish", ["h1"], "s")
ANALYSIS = AnalysisReport("AAPL", INDICATORS, Signal.BUY, 0.8, ["trend is up: +1"])
DECISION = AgentDecision("reasoning", "AAPL", Signal.BUY, 12, 0.75, ["why"], "rule-based")

SAMPLES: list[object] = [
    BAR,
    MarketDataRequest("AAPL", as_of=NOW),
    MarketDataRequest("TSLA"),
    DATA,
    Quote("AAPL", "NYSE", 100.99, 101.01, 101.0, NOW),
    INDICATORS,
    TRADE,
    RiskAssessmentRequest(TRADE, DATA, INDICATORS, 50_000.0, 20_000.0),
    RISK,
    ReserveCapitalRequest("paper", 1_000.0, "wf-1-reserve"),
    ReleaseCapitalRequest("res-1", "wf-1-release"),
    Reservation("res-1", "paper", 1_000.0, ReservationStatus.ACTIVE),
    OrderRequest("paper", "AAPL", Side.BUY, 5, "wf-1-order", 101.0, "res-1"),
    CancelOrderRequest("ord-1", "wf-1-cancel"),
    ConfirmExecutionRequest("ord-1", "wf-1-confirm", 100.5),
    OrderStatusRequest("ord-1"),
    Order(
        "ord-1",
        "paper",
        "AAPL",
        Side.BUY,
        5,
        OrderStatus.FILLED,
        101.0,
        None,
        "res-1",
        5,
        100.5,
        3,
        "",
    ),
    Fill("fill-1", "ord-1", "paper", "AAPL", Side.BUY, 5, 100.5, 502.5),
    Position("AAPL", 5, 100.5, 502.5),
    AccountRequest(),
    AccountSnapshot("paper", 99_000.0, 497.5, [Position("AAPL", 5, 100.5, 502.5)]),
    ExecuteTradeRequest("paper", "AAPL", Side.SELL, 5, "wf-2-trade"),
    TradeExecution(ExecutionStatus.SKIPPED, "AAPL", reason="risk 0.91 > 0.70"),
    TradeExecution(ExecutionStatus.FILLED, "AAPL", Side.BUY, 5, 100.5, 502.5, "ord-1", "fill-1"),
    RESEARCH,
    ANALYSIS,
    StrategySignal(Strategy.MEAN_REVERSION, "AAPL", Signal.HOLD, 0.0, "inside the bands"),
    TradingPlan("AAPL", Strategy.ADAPTIVE, Signal.BUY, 10, 101.0, 98.0, 107.0, 1010.0, 30.0, True),
    AgentContext("AAPL", as_of=NOW, research=RESEARCH, analysis=ANALYSIS, risk=RISK, notes=["n"]),
    DECISION,
    ConsensusRequest("AAPL", [DECISION, DECISION], 0.6),
    Consensus("AAPL", Signal.BUY, 0.75, 1.0, 12, {"buy": 1.5, "sell": 0.0, "hold": 0.0}, ["r"]),
    ActionRequest(DECISION, "paper", "wf-3-act", 101.0),
]


def _round_trip(value: object) -> object:
    converter = DataConverter.default.payload_converter
    payloads = converter.to_payloads([value])
    return converter.from_payloads(payloads, [type(value)])[0]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_model_round_trips_through_the_default_data_converter(value: object) -> None:
    restored = _round_trip(value)
    assert restored == value
    assert type(restored) is type(value)


def test_every_model_has_a_round_trip_sample() -> None:
    models_in_module = {
        cls
        for _, cls in inspect.getmembers(models, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == models.__name__
    }
    sampled = {type(value) for value in SAMPLES}
    assert models_in_module - sampled == set()


def test_enums_round_trip_as_enum_members_not_strings() -> None:
    restored = _round_trip(TRADE)
    assert isinstance(restored, TradeRequest)
    assert restored.side is Side.SELL
    assert restored.strategy is Strategy.TREND_FOLLOWING


def test_string_valued_enums_compare_equal_to_their_values() -> None:
    # Workflows and tests may write result.execution.status == "skipped".
    assert ExecutionStatus.SKIPPED == "skipped"
    assert Signal("buy") is Signal.BUY


def test_account_value_marks_positions_at_given_prices_else_at_cost() -> None:
    account = AccountSnapshot(
        "paper",
        1_000.0,
        200.0,
        [Position("AAPL", 2, 100.0, 200.0), Position("MSFT", 1, 50.0, 50.0)],
    )
    assert account.value_at({"AAPL": 110.0}) == pytest.approx(1_000 + 200 + 2 * 110 + 50)
    assert account.value_at({}) == pytest.approx(1_450.0)
