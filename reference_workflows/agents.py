"""Trading agents: a pluggable ``Reasoner``, a deterministic rule-based one, and agent activities.

Each agent activity takes an ``AgentContext`` (what is known so far), fills in the reports that
are missing by calling the market-data service and the pure analysis and risk functions
in-process, and returns its own report. The decision-making agents delegate to a ``Reasoner``;
the default ``RuleBasedReasoner`` needs no model and no network, so the whole system runs and
tests offline and deterministically.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from temporalio import activity

from .analysis import compute_indicators
from .broker import InsufficientFundsError, InsufficientPositionError, PaperBroker
from .market import PERIODS_PER_YEAR, MarketDataService
from .models import (
    ActionRequest,
    AgentContext,
    AgentDecision,
    AnalysisReport,
    Consensus,
    ConsensusRequest,
    ExecuteTradeRequest,
    ExecutionStatus,
    MarketData,
    MarketDataRequest,
    ResearchReport,
    RiskAssessment,
    RiskAssessmentRequest,
    Signal,
    Strategy,
    StrategySignal,
    TechnicalIndicators,
    TradeExecution,
    TradingError,
    TradingPlan,
    Trend,
    VolatilityRegime,
    run_in_thread,
)
from .risk import evaluate_risk, parse_strategy

_DIRECTION = {Signal.BUY: 1.0, Signal.SELL: -1.0, Signal.HOLD: 0.0}
AGENT_MISCONFIGURED = "AgentMisconfigured"
INVALID_CONSENSUS_REQUEST = "InvalidConsensusRequest"


class AgentMisconfiguredError(TradingError, error_type=AGENT_MISCONFIGURED):
    """An agent was asked for something its ``Agents`` instance was built without."""


class InvalidConsensusRequestError(TradingError, error_type=INVALID_CONSENSUS_REQUEST):
    """The coordinator was given no decisions to combine."""


@runtime_checkable
class Reasoner(Protocol):
    """Turns what the agents know into a decision and a plan.

    An LLM-backed reasoner implements the same two methods: serialise the context (its
    dataclasses are JSON-ready: ``dataclasses.asdict``) into a prompt, ask the model for JSON
    matching ``AgentDecision`` (structured output / a JSON schema, temperature 0), rebuild it
    with ``temporalio.converter.value_to_type(AgentDecision, data)`` and check it (known action,
    quantity within ``context.risk.max_position_size``). Raise on a malformed answer so that
    Temporal retries the activity. Methods are synchronous because the agents call them in a
    worker thread: a blocking HTTP client is fine there. Keep the API key in the worker process;
    workflows only ever see the decision.
    """

    name: str

    def decide(self, context: AgentContext) -> AgentDecision:
        """Choose an action from a context whose research, analysis and risk are filled in."""
        ...

    def plan(self, context: AgentContext) -> TradingPlan:
        """Turn the decision for ``context`` into entry, size, stop-loss and take-profit."""
        ...


# ------------------------------------------------------------------------ pure agent logic


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


_HEADLINES = {
    "bullish": ["{s} extends gains as buyers return", "Analysts lift {s} targets after rally"],
    "bearish": ["{s} slides on profit-taking", "{s} under pressure as sellers dominate"],
    "neutral": ["{s} trades in a tight range", "{s} flat ahead of earnings season"],
}


def research(data: MarketData) -> ResearchReport:
    """Summarise ``data``; sentiment mixes recent momentum with a news tone that is seeded by
    symbol and date, so it is repeatable yet not just a restatement of the price."""
    closes = data.closes
    recent = closes[-21:]
    momentum = recent[-1] / recent[0] - 1.0
    tone = 2.0 * _unit(data.symbol, data.bars[-1].timestamp.date()) - 1.0
    sentiment = max(-1.0, min(1.0, 0.7 * math.tanh(8.0 * momentum) + 0.3 * tone))
    label = "bullish" if sentiment > 0.2 else "bearish" if sentiment < -0.2 else "neutral"
    period_return = closes[-1] / closes[0] - 1.0
    return ResearchReport(
        symbol=data.symbol,
        last_price=closes[-1],
        period_return=period_return,
        period_high=max(bar.high for bar in data.bars),
        period_low=min(bar.low for bar in data.bars),
        average_volume=sum(bar.volume for bar in data.bars) / len(data.bars),
        sentiment=sentiment,
        sentiment_label=label,
        headlines=[h.format(s=data.symbol) for h in _HEADLINES[label]],
        summary=f"{data.symbol} {period_return:+.1%} over {len(closes)} {data.timeframe} bars, "
        f"last {closes[-1]:,.2f}; sentiment {label} ({sentiment:+.2f})",
    )


def analyse(indicators: TechnicalIndicators) -> AnalysisReport:
    """Five indicator votes (+1 buy, -1 sell); two net votes either way make a signal."""
    ind = indicators
    votes = {
        f"trend is {ind.trend.value}": {Trend.UP: 1, Trend.DOWN: -1}.get(ind.trend, 0),
        f"MACD histogram {ind.macd_histogram:+.3f}": 1 if ind.macd_histogram > 0 else -1,
        f"EMA12 {'above' if ind.ema_12 > ind.ema_26 else 'below'} EMA26": (
            1 if ind.ema_12 > ind.ema_26 else -1
        ),
        f"RSI {ind.rsi_14:.1f}": 1 if ind.rsi_14 < 30 else -1 if ind.rsi_14 > 70 else 0,
        "price vs Bollinger bands": _band_vote(ind),
    }
    score = sum(votes.values())
    signal = Signal.BUY if score >= 2 else Signal.SELL if score <= -2 else Signal.HOLD
    confidence = 0.5 + 0.1 * abs(score) if signal is not Signal.HOLD else 0.6 - 0.1 * abs(score)
    rationale = [f"{reason}: {vote:+d}" for reason, vote in votes.items()]
    return AnalysisReport(ind.symbol, ind, signal, round(confidence, 4), rationale)


def _band_vote(ind: TechnicalIndicators) -> int:
    """Below the lower band is cheap (+1), above the upper band is dear (-1)."""
    if ind.last_price < ind.bollinger_lower:
        return 1
    return -1 if ind.last_price > ind.bollinger_upper else 0


def trend_following_signal(ind: TechnicalIndicators) -> StrategySignal:
    """Ride a trend the MACD confirms; strength grows with the SMA20/SMA50 spread (5% = full)."""
    spread = (ind.sma_20 - ind.sma_50) / ind.sma_50
    if ind.trend is Trend.UP and ind.macd_histogram > 0:
        signal = Signal.BUY
    elif ind.trend is Trend.DOWN and ind.macd_histogram < 0:
        signal = Signal.SELL
    else:
        signal = Signal.HOLD
    strength = min(1.0, abs(spread) / 0.05) if signal is not Signal.HOLD else 0.0
    why = f"trend {ind.trend.value}, SMA spread {spread:+.2%}, MACD hist {ind.macd_histogram:+.3f}"
    return StrategySignal(Strategy.TREND_FOLLOWING, ind.symbol, signal, strength, why)


def mean_reversion_signal(ind: TechnicalIndicators) -> StrategySignal:
    """Fade stretched prices: buy below the lower band or RSI < 30, sell the mirror image."""
    half_width = (ind.bollinger_upper - ind.bollinger_middle) or 1e-9
    z = (ind.last_price - ind.bollinger_middle) / half_width  # +-1 at the bands
    if z < -1.0 or ind.rsi_14 < 30:
        signal = Signal.BUY
    elif z > 1.0 or ind.rsi_14 > 70:
        signal = Signal.SELL
    else:
        signal = Signal.HOLD
    strength = min(1.0, abs(z) / 2.0) if signal is not Signal.HOLD else 0.0
    why = f"price at {z:+.2f} band widths from the mean, RSI {ind.rsi_14:.1f}"
    return StrategySignal(Strategy.MEAN_REVERSION, ind.symbol, signal, strength, why)


def momentum_signal(ind: TechnicalIndicators) -> StrategySignal:
    """Follow strength: RSI above 55 with a rising MACD buys, below 45 with a falling one sells."""
    if ind.rsi_14 > 55 and ind.macd_histogram > 0:
        signal = Signal.BUY
    elif ind.rsi_14 < 45 and ind.macd_histogram < 0:
        signal = Signal.SELL
    else:
        signal = Signal.HOLD
    strength = min(1.0, abs(ind.rsi_14 - 50) / 30) if signal is not Signal.HOLD else 0.0
    why = f"RSI {ind.rsi_14:.1f}, MACD hist {ind.macd_histogram:+.3f}"
    return StrategySignal(Strategy.MOMENTUM, ind.symbol, signal, strength, why)


def adaptive_signal(ind: TechnicalIndicators) -> StrategySignal:
    """Mean reversion in ranges and quiet markets, trend following otherwise."""
    ranging = ind.trend is Trend.SIDEWAYS or ind.volatility_regime is VolatilityRegime.LOW
    chosen = mean_reversion_signal(ind) if ranging else trend_following_signal(ind)
    regime = f"{ind.trend.value} trend, {ind.volatility_regime.value} volatility"
    why = f"{regime}: using {chosen.strategy.value} ({chosen.rationale})"
    return replace(chosen, strategy=Strategy.ADAPTIVE, rationale=why)


STRATEGY_SIGNALS: dict[Strategy, Callable[[TechnicalIndicators], StrategySignal]] = {
    Strategy.MOMENTUM: momentum_signal,
    Strategy.TREND_FOLLOWING: trend_following_signal,
    Strategy.MEAN_REVERSION: mean_reversion_signal,
    Strategy.ADAPTIVE: adaptive_signal,
}


def build_consensus(request: ConsensusRequest) -> Consensus:
    """Confidence-weighted vote; HOLD when the winner's share is below ``min_agreement``.

    Ties go to HOLD, then BUY, then SELL, so the result never depends on input order.
    """
    if not request.decisions:
        raise InvalidConsensusRequestError(
            f"consensus for {request.symbol!r} needs at least one decision, got none"
        )
    votes = {signal.value: 0.0 for signal in Signal}
    for decision in request.decisions:
        votes[Signal(decision.action).value] += max(decision.confidence, 0.0)
    total = sum(votes.values()) or 1.0
    order = [Signal.HOLD, Signal.BUY, Signal.SELL]
    winner = max(order, key=lambda s: (votes[s.value], -order.index(s)))
    agreement = votes[winner.value] / total
    rationale = [
        f"{d.agent}: {Signal(d.action).value} ({d.confidence:.2f})" for d in request.decisions
    ]
    if agreement < request.min_agreement:
        rationale.append(f"agreement {agreement:.0%} < {request.min_agreement:.0%}: hold")
        winner = Signal.HOLD
    backers = [d for d in request.decisions if Signal(d.action) is winner]
    quantity = min((d.quantity for d in backers), default=0) if winner is not Signal.HOLD else 0
    confidence = votes[winner.value] / len(request.decisions)
    return Consensus(request.symbol, winner, confidence, agreement, quantity, votes, rationale)


class RuleBasedReasoner:
    """Deterministic reasoner: weighs the analysis signal, the strategy's signal and the news
    sentiment, and never trades what risk did not approve."""

    name = "rule-based"

    def decide(self, context: AgentContext) -> AgentDecision:
        """BUY/SELL when the weighted vote passes 0.5 in either direction, else HOLD."""
        if context.analysis is None:
            raise ValueError("decide() needs context.analysis; run the analysis agent first")
        analysis = context.analysis
        strategy = STRATEGY_SIGNALS[Strategy(context.strategy)](analysis.indicators)
        weights = [
            (f"analysis says {analysis.signal.value}", analysis.signal, analysis.confidence),
            (
                f"{strategy.strategy.value} says {strategy.signal.value}",
                strategy.signal,
                strategy.strength,
            ),
        ]
        if context.research is not None:
            mood = Signal.BUY if context.research.sentiment > 0 else Signal.SELL
            weights.append(
                (
                    f"sentiment {context.research.sentiment_label}",
                    mood,
                    abs(context.research.sentiment) / 2,
                )
            )
        score = sum(_DIRECTION[signal] * weight for _, signal, weight in weights)
        action = Signal.BUY if score > 0.5 else Signal.SELL if score < -0.5 else Signal.HOLD
        total = sum(weight for _, _, weight in weights) or 1.0
        confidence = min(1.0, abs(score) / total)
        rationale = [f"{why} ({weight:.2f})" for why, _, weight in weights]
        rationale.append(f"weighted score {score:+.2f}")
        risk = context.risk
        if action is not Signal.HOLD and risk is not None and not risk.approved:
            rationale.append(f"risk score {risk.risk_score:.2f} above {risk.threshold:.2f}: hold")
            action = Signal.HOLD
        if action is Signal.HOLD:
            confidence = 1.0 - confidence
        size = risk.max_position_size if risk is not None else 0
        quantity = math.floor(size * confidence) if action is not Signal.HOLD else 0
        return AgentDecision(
            "reasoning",
            context.symbol,
            action,
            quantity,
            round(confidence, 4),
            rationale,
            self.name,
        )

    def plan(self, context: AgentContext) -> TradingPlan:
        """Entry at the last price; stop two one-bar standard deviations away; target 2:1."""
        decision = self.decide(context)
        assert context.analysis is not None  # decide() checked
        ind = context.analysis.indicators
        entry = ind.last_price
        bar_sigma = ind.volatility / math.sqrt(PERIODS_PER_YEAR.get(context.timeframe, 252))
        stop_distance = max(2.0 * bar_sigma * entry, 0.01)
        direction = -1.0 if decision.action is Signal.SELL else 1.0
        quantity = decision.quantity
        return TradingPlan(
            symbol=context.symbol,
            strategy=Strategy(context.strategy),
            signal=decision.action,
            quantity=quantity,
            entry_price=entry,
            stop_loss=round(entry - direction * stop_distance, 2),
            take_profit=round(entry + direction * 2.0 * stop_distance, 2),
            notional=round(quantity * entry, 2),
            max_loss=round(quantity * stop_distance, 2),
            approved=decision.action is not Signal.HOLD and quantity > 0,
            rationale=decision.rationale,
        )


# ------------------------------------------------------------------------ activities


class Agents:
    """The agent activities, sharing one reasoner, market-data service and (optional) broker.

    Args:
        reasoner: makes the decisions; ``RuleBasedReasoner()`` by default.
        market: where agents get bars; a simulator-backed service by default.
        broker: what ``action_agent`` trades through and risk reads the account from; without
            one, risk assumes 100,000 of equity and ``action_agent`` fails.
    """

    def __init__(
        self,
        reasoner: Reasoner | None = None,
        *,
        market: MarketDataService | None = None,
        broker: PaperBroker | None = None,
    ) -> None:
        self.reasoner: Reasoner = reasoner or RuleBasedReasoner()
        self.market = market or MarketDataService()
        self.broker = broker

    def market_data(self, context: AgentContext) -> MarketData:
        """The bars ``context`` describes (blocking)."""
        return self.market.load(
            MarketDataRequest(
                context.symbol, context.exchange, context.timeframe, context.bars, context.as_of
            )
        )

    def gather(self, context: AgentContext) -> AgentContext:
        """``context`` with research, analysis and risk filled in where missing (blocking).

        Raises:
            InvalidTradeRequestError: ``context.strategy`` is not a known strategy.
        """
        context = replace(context, strategy=parse_strategy(context.strategy))
        if context.research and context.analysis and context.risk:
            return context
        data = self.market_data(context)
        analysis = context.analysis or analyse(compute_indicators(data))
        return replace(
            context,
            research=context.research or research(data),
            analysis=analysis,
            risk=context.risk or self._assess(context, data, analysis),
        )

    def _assess(
        self, context: AgentContext, data: MarketData, analysis: AnalysisReport
    ) -> RiskAssessment:
        trade = context.trade_request(analysis.signal.side)
        equity, cash = 100_000.0, None
        if self.broker is not None:
            account = self.broker.snapshot(context.account_id)
            equity, cash = account.value_at({}), account.cash
        return evaluate_risk(RiskAssessmentRequest(trade, data, analysis.indicators, equity, cash))

    def _indicators(self, context: AgentContext) -> TechnicalIndicators:
        if context.analysis is not None:
            return context.analysis.indicators
        return compute_indicators(self.market_data(context))

    def _decide(self, context: AgentContext) -> AgentDecision:
        context = self.gather(context)
        decision = self.reasoner.decide(context)
        # Guardrails hold whatever the reasoner is (an LLM can over-size or ignore risk).
        risk = context.risk
        assert risk is not None  # gather() filled it
        if not risk.approved and Signal(decision.action) is not Signal.HOLD:
            decision = replace(
                decision,
                action=Signal.HOLD,
                quantity=0,
                rationale=[*decision.rationale, "risk not approved: hold"],
            )
        quantity = min(max(decision.quantity, 0), risk.max_position_size)
        return replace(decision, quantity=quantity)

    def _risk(self, context: AgentContext) -> RiskAssessment:
        risk = self.gather(context).risk
        assert risk is not None  # gather() filled it
        return risk

    def _plan(self, context: AgentContext) -> TradingPlan:
        context = self.gather(context)
        plan = self.reasoner.plan(context)
        risk = context.risk
        assert risk is not None  # gather() filled it
        quantity = min(max(plan.quantity, 0), risk.max_position_size)
        return replace(
            plan,
            quantity=quantity,
            notional=round(quantity * plan.entry_price, 2),
            max_loss=round(quantity * abs(plan.entry_price - plan.stop_loss), 2),
            approved=plan.approved and risk.approved and quantity > 0,
        )

    def _act(self, request: ActionRequest) -> TradeExecution:
        decision = request.decision
        action = Signal(decision.action)
        if action is Signal.HOLD or decision.quantity <= 0:
            return TradeExecution(
                ExecutionStatus.SKIPPED,
                decision.symbol,
                reason=f"decision was {action.value} with quantity {decision.quantity}",
            )
        if self.broker is None:
            raise AgentMisconfiguredError(
                "action_agent needs a broker; build Agents(broker=PaperBroker(...)) or use "
                "create_activities()"
            )
        side = action.side
        order = ExecuteTradeRequest(
            request.account_id,
            decision.symbol,
            side,
            decision.quantity,
            request.idempotency_key,
            request.price,
        )
        try:
            return self.broker.ledger.execute_trade(order)
        except (InsufficientFundsError, InsufficientPositionError) as error:
            # The agent acted and the broker refused: an outcome to report, not a failure.
            return TradeExecution(
                ExecutionStatus.REJECTED,
                decision.symbol,
                side,
                decision.quantity,
                reason=str(error),
            )

    @activity.defn
    async def research_agent(self, context: AgentContext) -> ResearchReport:
        """Activity: market summary and sentiment."""
        return await run_in_thread(lambda c: research(self.market_data(c)), context)

    @activity.defn
    async def analysis_agent(self, context: AgentContext) -> AnalysisReport:
        """Activity: indicators and a buy/sell/hold signal with confidence."""
        return await run_in_thread(lambda c: analyse(self._indicators(c)), context)

    @activity.defn
    async def risk_agent(self, context: AgentContext) -> RiskAssessment:
        """Activity: risk of trading in the direction the analysis points."""
        return await run_in_thread(self._risk, context)

    @activity.defn
    async def planning_agent(self, context: AgentContext) -> TradingPlan:
        """Activity: the reasoner's trading plan."""
        return await run_in_thread(self._plan, context)

    @activity.defn
    async def reasoning_agent(self, context: AgentContext) -> AgentDecision:
        """Activity: the reasoner's decision, within risk limits (the "reason" half)."""
        return await run_in_thread(self._decide, context)

    @activity.defn
    async def action_agent(self, request: ActionRequest) -> TradeExecution:
        """Activity: carry out a decision through the broker (the "act" half).

        HOLD is SKIPPED; a broker refusal for money or shares is REJECTED (returned, not
        raised); other broker errors raise non-retryable ``ApplicationError``.
        """
        return await run_in_thread(self._act, request)

    @activity.defn
    async def coordinator_agent(self, request: ConsensusRequest) -> Consensus:
        """Activity: combine several agents' decisions into one."""
        return await run_in_thread(build_consensus, request)

    @activity.defn
    async def momentum_agent(self, context: AgentContext) -> StrategySignal:
        """Activity: the momentum strategy's signal."""
        return await run_in_thread(lambda c: momentum_signal(self._indicators(c)), context)

    @activity.defn
    async def trend_following_agent(self, context: AgentContext) -> StrategySignal:
        """Activity: the trend-following strategy's signal."""
        return await run_in_thread(lambda c: trend_following_signal(self._indicators(c)), context)

    @activity.defn
    async def mean_reversion_agent(self, context: AgentContext) -> StrategySignal:
        """Activity: the mean-reversion strategy's signal."""
        return await run_in_thread(lambda c: mean_reversion_signal(self._indicators(c)), context)

    @activity.defn
    async def adaptive_agent(self, context: AgentContext) -> StrategySignal:
        """Activity: the adaptive strategy's signal (picks a strategy by market regime)."""
        return await run_in_thread(lambda c: adaptive_signal(self._indicators(c)), context)
