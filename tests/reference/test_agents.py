"""Agents: rule-based reasoning, strategies, consensus, guardrails, and the activity wiring."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from reference_workflows.activities import (
    MARKET_DATA_ACTIVITY_NAMES,
    MARKET_DATA_TASK_QUEUE,
    TRADING_TASK_QUEUE,
    create_activities,
    create_activities_by_task_queue,
    create_services,
)
from reference_workflows.agents import (
    AGENT_MISCONFIGURED,
    INVALID_CONSENSUS_REQUEST,
    Agents,
    Reasoner,
    RuleBasedReasoner,
    adaptive_signal,
    analyse,
    build_consensus,
    mean_reversion_signal,
    research,
    trend_following_signal,
)
from reference_workflows.broker import PaperBroker
from reference_workflows.market import EXCHANGE_UNAVAILABLE, MarketDataService
from reference_workflows.models import (
    ActionRequest,
    AgentContext,
    AgentDecision,
    ConsensusRequest,
    ExecutionStatus,
    MarketDataRequest,
    Signal,
    Strategy,
    TechnicalIndicators,
    TradingPlan,
    Trend,
    VolatilityRegime,
)
from reference_workflows.risk import INVALID_TRADE_REQUEST

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)
env = ActivityEnvironment()

# Rising market: SMA20 2% over SMA50, MACD and EMAs positive, RSI neutral, inside the bands.
UPTREND = TechnicalIndicators(
    symbol="AAPL",
    last_price=105.0,
    sma_20=102.0,
    sma_50=100.0,
    ema_12=103.0,
    ema_26=101.0,
    rsi_14=50.0,
    macd=2.0,
    macd_signal=1.5,
    macd_histogram=0.5,
    bollinger_upper=108.0,
    bollinger_middle=102.0,
    bollinger_lower=96.0,
    trend=Trend.UP,
    volatility=0.25,
    volatility_regime=VolatilityRegime.NORMAL,
)
DOWNTREND = replace(
    UPTREND,
    last_price=95.0,
    sma_20=98.0,
    ema_12=99.0,
    macd=-2.0,
    macd_histogram=-0.5,
    trend=Trend.DOWN,
)


def _context(symbol: str = "AAPL", **fields: object) -> AgentContext:
    return AgentContext(symbol, as_of=AS_OF, **fields)  # type: ignore[arg-type]


def _decision(
    action: Signal, confidence: float, quantity: int = 10, agent: str = "a"
) -> AgentDecision:
    return AgentDecision(agent, "AAPL", action, quantity, confidence)


@pytest.fixture
def agents(tmp_path: Path) -> Agents:
    return Agents(broker=PaperBroker(tmp_path / "ledger.sqlite3", starting_cash=100_000.0))


# ------------------------------------------------------------------ pure logic


def test_the_rule_based_reasoner_implements_the_protocol() -> None:
    assert isinstance(RuleBasedReasoner(), Reasoner)


def test_analysis_counts_indicator_votes() -> None:
    # trend +1, MACD +1, EMA +1, RSI 50 -> 0, inside bands -> 0: score 3 -> BUY, 0.5 + 0.3
    report = analyse(UPTREND)
    assert (report.signal, report.confidence) == (Signal.BUY, pytest.approx(0.8))
    assert "trend is up: +1" in report.rationale
    assert analyse(DOWNTREND).signal is Signal.SELL
    # overbought (RSI -1) and above the upper band (-1) cancel the trend's +3: score 1 -> HOLD
    stretched = replace(UPTREND, rsi_14=75.0, last_price=110.0)
    assert analyse(stretched).signal is Signal.HOLD


def test_strategy_signals() -> None:
    trend = trend_following_signal(UPTREND)
    # SMA spread 2% of a 5% full scale -> strength 0.4
    assert (trend.signal, trend.strength) == (Signal.BUY, pytest.approx(0.4))
    assert trend_following_signal(DOWNTREND).signal is Signal.SELL

    cheap = replace(UPTREND, last_price=93.0, trend=Trend.SIDEWAYS)  # 1.5 band widths below
    reversion = mean_reversion_signal(cheap)
    assert (reversion.signal, reversion.strength) == (Signal.BUY, pytest.approx(0.75))
    assert mean_reversion_signal(replace(UPTREND, last_price=109.0)).signal is Signal.SELL
    assert mean_reversion_signal(UPTREND).signal is Signal.HOLD

    ranging = adaptive_signal(cheap)
    assert ranging.strategy is Strategy.ADAPTIVE and ranging.signal is Signal.BUY
    assert "using mean_reversion" in ranging.rationale
    assert "using trend_following" in adaptive_signal(UPTREND).rationale


def test_research_is_repeatable_and_bounded() -> None:
    data = MarketDataService().load(MarketDataRequest("AAPL", as_of=AS_OF))
    report = research(data)
    assert report == research(data)
    assert -1.0 <= report.sentiment <= 1.0
    expected = (
        "bullish" if report.sentiment > 0.2 else "bearish" if report.sentiment < -0.2 else "neutral"
    )
    assert report.sentiment_label == expected
    assert report.period_low <= report.last_price <= report.period_high
    assert report.headlines and "AAPL" in report.summary


def test_consensus_is_a_confidence_weighted_vote() -> None:
    decisions = [
        _decision(Signal.BUY, 0.8, 20, "a"),
        _decision(Signal.BUY, 0.6, 12, "b"),
        _decision(Signal.SELL, 0.9, 30, "c"),
    ]
    consensus = build_consensus(ConsensusRequest("AAPL", decisions))
    # votes: buy 0.8 + 0.6 = 1.4, sell 0.9; agreement 1.4 / 2.3
    assert consensus.action is Signal.BUY
    assert consensus.agreement == pytest.approx(1.4 / 2.3)
    assert consensus.confidence == pytest.approx(1.4 / 3)
    assert consensus.quantity == 12  # the most cautious backer's size
    assert consensus.votes == pytest.approx({"buy": 1.4, "sell": 0.9, "hold": 0.0})
    assert (
        build_consensus(ConsensusRequest("AAPL", decisions, min_agreement=0.7)).action
        is Signal.HOLD
    )


def test_consensus_ties_go_to_hold_whatever_the_order() -> None:
    tie = [_decision(Signal.BUY, 0.5), _decision(Signal.HOLD, 0.5)]
    assert build_consensus(ConsensusRequest("AAPL", tie)).action is Signal.HOLD
    assert build_consensus(ConsensusRequest("AAPL", tie[::-1])).action is Signal.HOLD


def test_reasoner_holds_when_risk_is_not_approved(agents: Agents) -> None:
    context = agents.gather(_context("SPY"))
    assert context.risk is not None and context.analysis is not None
    rejected = replace(context, risk=replace(context.risk, approved=False))
    decision = RuleBasedReasoner().decide(rejected)
    assert decision.action is Signal.HOLD and decision.quantity == 0
    assert any("risk score" in line for line in decision.rationale)
    with pytest.raises(ValueError, match="run the analysis agent first"):
        RuleBasedReasoner().decide(_context())


# ------------------------------------------------------------------ activities


async def test_agents_build_on_each_other(agents: Agents) -> None:
    context = _context("AAPL", strategy=Strategy.TREND_FOLLOWING)
    report = await env.run(agents.research_agent, context)
    analysis = await env.run(agents.analysis_agent, context)
    risk = await env.run(agents.risk_agent, replace(context, research=report, analysis=analysis))
    assert report.symbol == analysis.symbol == risk.symbol == "AAPL"
    assert risk.strategy is Strategy.TREND_FOLLOWING
    # sized against the broker account: at most 25% of its 100,000 of equity
    assert 0 < risk.max_notional <= 25_000.0

    full = replace(context, research=report, analysis=analysis, risk=risk)
    decision = await env.run(agents.reasoning_agent, full)
    assert decision.quantity <= risk.max_position_size
    plan = await env.run(agents.planning_agent, full)
    assert plan.signal is decision.action
    if plan.signal is Signal.BUY:
        assert plan.stop_loss < plan.entry_price < plan.take_profit
    assert plan.max_loss == pytest.approx(
        plan.quantity * abs(plan.entry_price - plan.stop_loss), abs=0.01
    )


async def test_strategy_agents_label_their_strategy(agents: Agents) -> None:
    context = _context("MSFT")
    for agent, strategy in [
        (agents.momentum_agent, Strategy.MOMENTUM),
        (agents.trend_following_agent, Strategy.TREND_FOLLOWING),
        (agents.mean_reversion_agent, Strategy.MEAN_REVERSION),
        (agents.adaptive_agent, Strategy.ADAPTIVE),
    ]:
        signal = await env.run(agent, context)
        assert (signal.strategy, signal.symbol) == (strategy, "MSFT")
        assert 0.0 <= signal.strength <= 1.0


class _Reckless:
    """A reasoner that ignores risk, as a badly prompted model might."""

    name = "reckless"

    def decide(self, context: AgentContext) -> AgentDecision:
        return AgentDecision(
            "reckless", context.symbol, Signal.BUY, 1_000_000, 1.0, reasoner=self.name
        )

    def plan(self, context: AgentContext) -> TradingPlan:
        return TradingPlan(
            context.symbol,
            Strategy.MOMENTUM,
            Signal.BUY,
            1_000_000,
            100.0,
            90.0,
            120.0,
            1e8,
            1e7,
            True,
        )


async def test_guardrails_hold_whatever_the_reasoner_says(tmp_path: Path) -> None:
    agents = Agents(_Reckless(), broker=PaperBroker(tmp_path / "ledger.sqlite3"))
    context = agents.gather(_context("AAPL"))
    assert context.risk is not None and context.risk.approved
    decision = await env.run(agents.reasoning_agent, context)
    assert decision.quantity == context.risk.max_position_size
    plan = await env.run(agents.planning_agent, context)
    assert plan.quantity == context.risk.max_position_size
    assert plan.max_loss == pytest.approx(plan.quantity * 10.0)

    vetoed = replace(context, risk=replace(context.risk, approved=False))
    decision = await env.run(agents.reasoning_agent, vetoed)
    assert (decision.action, decision.quantity) == (Signal.HOLD, 0)
    assert not (await env.run(agents.planning_agent, vetoed)).approved


async def test_action_agent_executes_once_and_skips_holds(agents: Agents) -> None:
    assert agents.broker is not None
    buy = ActionRequest(_decision(Signal.BUY, 0.9, quantity=5), "paper", "wf-act-1", price=100.0)
    first = await env.run(agents.action_agent, buy)
    assert (first.status, first.quantity, first.notional) == (ExecutionStatus.FILLED, 5, 500.0)
    assert await env.run(agents.action_agent, buy) == first  # a retry does not trade again
    assert len(agents.broker.fills()) == 1

    hold = ActionRequest(_decision(Signal.HOLD, 0.9), "paper", "wf-act-2")
    assert (await env.run(agents.action_agent, hold)).status is ExecutionStatus.SKIPPED

    short = ActionRequest(
        _decision(Signal.SELL, 0.9, quantity=50), "paper", "wf-act-3", price=100.0
    )
    rejected = await env.run(agents.action_agent, short)
    assert rejected.status is ExecutionStatus.REJECTED and "holds 5 AAPL" in rejected.reason
    assert len(agents.broker.fills()) == 1


async def test_agent_errors_reach_temporal_with_their_retry_policy() -> None:
    no_broker = Agents(market=MarketDataService(down_exchanges=["NYSE"]))
    with pytest.raises(ApplicationError) as raised:
        await env.run(
            no_broker.action_agent, ActionRequest(_decision(Signal.BUY, 1.0), "paper", "k")
        )
    assert (raised.value.type, raised.value.non_retryable) == (AGENT_MISCONFIGURED, True)
    with pytest.raises(ApplicationError) as down:
        await env.run(no_broker.research_agent, _context())
    assert (down.value.type, down.value.non_retryable) == (EXCHANGE_UNAVAILABLE, False)
    with pytest.raises(ApplicationError, match="unknown strategy 'yolo'") as unknown:
        await env.run(Agents().reasoning_agent, _context(strategy="yolo"))
    assert (unknown.value.type, unknown.value.non_retryable) == (INVALID_TRADE_REQUEST, True)
    with pytest.raises(ApplicationError) as empty:
        await env.run(no_broker.coordinator_agent, ConsensusRequest("AAPL", []))
    assert (empty.value.type, empty.value.non_retryable) == (INVALID_CONSENSUS_REQUEST, True)


# ------------------------------------------------------------------ wiring


def _name(fn: object) -> str:
    # The SDK's own record of the registered name (private, but the truth a worker uses).
    return activity._Definition.must_from_callable(fn).name  # type: ignore[arg-type]


def test_create_activities_returns_every_activity_once(tmp_path: Path) -> None:
    names = [_name(fn) for fn in create_activities(ledger_path=tmp_path / "l.sqlite3")]
    assert len(names) == len(set(names)) == 23
    assert {
        "fetch_market_data",
        "calculate_technical_indicators",
        "assess_risk",
        "execute_trade",
        "get_order_status",
        "reserve_capital",
        "release_capital",
        "action_agent",
    } <= set(names)
    assert MARKET_DATA_ACTIVITY_NAMES <= set(names)


def test_activities_split_over_two_task_queues(tmp_path: Path) -> None:
    assert (MARKET_DATA_TASK_QUEUE, TRADING_TASK_QUEUE) == ("market-data-agents", "trading-agents")
    market, trading = create_activities_by_task_queue(ledger_path=tmp_path / "l.sqlite3")
    assert {_name(fn) for fn in market} == MARKET_DATA_ACTIVITY_NAMES
    assert {_name(fn) for fn in trading}.isdisjoint(MARKET_DATA_ACTIVITY_NAMES)
    assert len(market) + len(trading) == 23


async def test_services_are_wired_together(tmp_path: Path) -> None:
    services = create_services(
        ledger_path=tmp_path / "l.sqlite3",
        starting_cash=5_000.0,
        down_exchanges=["LSE"],
        csv_dir=Path(__file__).resolve().parents[2] / "reference_workflows" / "data",
    )
    assert services.agents.broker is services.broker
    assert services.agents.market is services.market
    assert services.market.down_exchanges == {"LSE"}
    data = await env.run(services.market.fetch_market_data, MarketDataRequest("AAPL"))
    assert data.source == "csv" and len(data.bars) == 120
    assert services.broker.snapshot().cash == 5_000.0
