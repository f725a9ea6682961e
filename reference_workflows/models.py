"""Dataclasses for every input and output of the reference trading-agent system.

Every type here crosses the Temporal boundary as an activity or workflow argument or result, so
each one must survive the SDK's default JSON data converter unchanged: fields are plain scalars,
``datetime``, ``str``-valued enums, lists, ``dict[str, float]``, ``Optional`` or other dataclasses
from this module (no tuples, sets or bare ``Any``). ``tests/reference/test_models.py`` round-trips
one instance of each class to hold that line.

Money is in account currency (dollars), quantities are whole shares, ratios are fractions
(``0.02`` means two percent) and volatility is annualised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError

_T = TypeVar("_T")
_R = TypeVar("_R")


class Trend(str, Enum):
    """Direction of the price trend, judged from moving averages."""

    UP = "up"
    DOWN = "down"
    SIDEWAYS = "sideways"


class VolatilityRegime(str, Enum):
    """Bucket of annualised volatility that strategies and risk rules switch on."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Side(str, Enum):
    """Direction of a trade."""

    BUY = "buy"
    SELL = "sell"


class Signal(str, Enum):
    """What an agent or strategy recommends doing now."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"

    @property
    def side(self) -> Side:
        """The side of a trade on this signal: SELL sells; BUY buys, and so would a HOLD's
        trade (a risk assessment of one, say)."""
        return Side.SELL if self is Signal.SELL else Side.BUY


class Strategy(str, Enum):
    """Trading strategies the agents and the risk model know about."""

    MOMENTUM = "momentum"
    TREND_FOLLOWING = "trend_following"
    MEAN_REVERSION = "mean_reversion"
    ADAPTIVE = "adaptive"


class OrderStatus(str, Enum):
    """Life cycle of a broker order: PENDING until it fills or is cancelled."""

    PENDING = "pending"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class ReservationStatus(str, Enum):
    """Life cycle of reserved capital: ACTIVE until a fill consumes it or it is released."""

    ACTIVE = "active"
    CONSUMED = "consumed"
    RELEASED = "released"


class ExecutionStatus(str, Enum):
    """Outcome of a trade as a workflow reports it."""

    FILLED = "filled"
    PENDING = "pending"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# --------------------------------------------------------------------------- market data


@dataclass
class Bar:
    """One OHLCV candle; ``timestamp`` is the start of the period, in UTC."""

    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass
class MarketDataRequest:
    """Ask for the ``bars`` most recent candles of ``symbol`` up to and including ``as_of``.

    ``as_of=None`` means "now" by the market-data service's clock; workflows should pass
    ``workflow.now()`` so that a replayed or retried request asks for the same bars.
    """

    symbol: str
    exchange: str = "NYSE"
    timeframe: str = "1d"
    bars: int = 120
    as_of: datetime | None = None


@dataclass
class MarketData:
    """Candles for one symbol, oldest first, and where they came from."""

    symbol: str
    exchange: str
    timeframe: str
    bars: list[Bar]
    source: str = "simulator"

    @property
    def closes(self) -> list[float]:
        """Closing prices, oldest first."""
        return [bar.close for bar in self.bars]

    @property
    def last_price(self) -> float:
        """The most recent close."""
        return self.bars[-1].close


@dataclass
class Quote:
    """Top of book derived from the latest bar."""

    symbol: str
    exchange: str
    bid: float
    ask: float
    last: float
    timestamp: datetime


# --------------------------------------------------------------------------- analysis and risk


@dataclass
class TechnicalIndicators:
    """The indicator set computed from one MarketData (latest values only)."""

    symbol: str
    last_price: float
    sma_20: float
    sma_50: float
    ema_12: float
    ema_26: float
    rsi_14: float
    macd: float
    macd_signal: float
    macd_histogram: float
    bollinger_upper: float
    bollinger_middle: float
    bollinger_lower: float
    trend: Trend
    volatility: float
    volatility_regime: VolatilityRegime


@dataclass
class TradeRequest:
    """What a user asks the trading workflow to do.

    Give ``quantity`` (shares) or ``notional`` (money); with neither, the risk assessment's
    maximum position size is used.
    """

    symbol: str
    strategy: Strategy = Strategy.MOMENTUM
    side: Side = Side.BUY
    quantity: int | None = None
    notional: float | None = None
    account_id: str = "paper"
    exchange: str = "NYSE"


@dataclass
class RiskAssessmentRequest:
    """Everything the risk model needs: the trade, its market and the money available."""

    trade: TradeRequest
    market_data: MarketData
    indicators: TechnicalIndicators
    account_equity: float = 100_000.0
    available_cash: float | None = None


@dataclass
class RiskAssessment:
    """The risk model's verdict; ``approved`` is False when ``risk_score`` exceeds ``threshold``."""

    symbol: str
    strategy: Strategy
    volatility: float
    value_at_risk_95: float
    max_position_size: int
    max_notional: float
    risk_score: float
    threshold: float
    approved: bool
    reasons: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- broker


@dataclass
class ReserveCapitalRequest:
    """Move ``amount`` from an account's cash into a reservation."""

    account_id: str
    amount: float
    idempotency_key: str


@dataclass
class ReleaseCapitalRequest:
    """Return an ACTIVE reservation's money to cash (a saga compensation).

    ``missing_ok``: a reservation that was never made is nothing to release (the result is
    None) rather than an ``UnknownReservation`` error. A saga that registers the release
    before reserving (with ``reservation_id_for(key)``) needs this when the reserve failed.
    """

    reservation_id: str
    idempotency_key: str
    missing_ok: bool = False


@dataclass
class Reservation:
    """Money set aside for one trade."""

    reservation_id: str
    account_id: str
    amount: float
    status: ReservationStatus


@dataclass
class OrderRequest:
    """Place an order; a buy may draw on a reservation made beforehand."""

    account_id: str
    symbol: str
    side: Side
    quantity: int
    idempotency_key: str
    limit_price: float | None = None
    reservation_id: str | None = None


@dataclass
class CancelOrderRequest:
    """Cancel a PENDING order.

    ``missing_ok``: an order that was never placed is nothing to cancel (the result is None)
    rather than an ``UnknownOrder`` error; see ``ReleaseCapitalRequest``.
    """

    order_id: str
    idempotency_key: str
    missing_ok: bool = False


@dataclass
class ConfirmExecutionRequest:
    """Fill a PENDING order, at ``fill_price`` or at the price recorded when it was placed."""

    order_id: str
    idempotency_key: str
    fill_price: float | None = None


@dataclass
class OrderStatusRequest:
    """Look up an order (the polling pattern's question)."""

    order_id: str


@dataclass
class Order:
    """A broker order and its progress."""

    order_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: int
    status: OrderStatus
    reference_price: float
    limit_price: float | None = None
    reservation_id: str | None = None
    filled_quantity: int = 0
    average_price: float | None = None
    status_checks: int = 0
    reason: str = ""


@dataclass
class Fill:
    """One execution of an order."""

    fill_id: str
    order_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: int
    price: float
    notional: float


@dataclass
class Position:
    """Shares held in one symbol and what they cost."""

    symbol: str
    quantity: int
    average_cost: float
    cost_basis: float


@dataclass
class AccountRequest:
    """Look up an account."""

    account_id: str = "paper"


@dataclass
class AccountSnapshot:
    """An account's money and holdings at one moment."""

    account_id: str
    cash: float
    reserved: float
    positions: list[Position] = field(default_factory=list)

    def value_at(self, prices: dict[str, float]) -> float:
        """Cash plus reserved plus positions marked at ``prices`` (cost basis where missing)."""
        holdings = sum(
            p.quantity * prices[p.symbol] if p.symbol in prices else p.cost_basis
            for p in self.positions
        )
        return self.cash + self.reserved + holdings


@dataclass
class ExecuteTradeRequest:
    """Place and fill an order in one step, for workflows that need no saga."""

    account_id: str
    symbol: str
    side: Side
    quantity: int
    idempotency_key: str
    price: float | None = None


@dataclass
class TradeExecution:
    """The outcome of a trade: filled, skipped by risk, rejected, and so on."""

    status: ExecutionStatus
    symbol: str
    side: Side | None = None
    quantity: int = 0
    price: float | None = None
    notional: float = 0.0
    order_id: str | None = None
    fill_id: str | None = None
    reason: str = ""


# --------------------------------------------------------------------------- agents


@dataclass
class ResearchReport:
    """The research agent's summary of a symbol's recent market and news tone."""

    symbol: str
    last_price: float
    period_return: float
    period_high: float
    period_low: float
    average_volume: float
    sentiment: float
    sentiment_label: str
    headlines: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass
class AnalysisReport:
    """The analysis agent's reading of the indicators."""

    symbol: str
    indicators: TechnicalIndicators
    signal: Signal
    confidence: float
    rationale: list[str] = field(default_factory=list)


@dataclass
class StrategySignal:
    """One strategy's recommendation, with the strength of its conviction in [0, 1]."""

    strategy: Strategy
    symbol: str
    signal: Signal
    strength: float
    rationale: str = ""


@dataclass
class TradingPlan:
    """An actionable plan: what to trade, how much, and where to get out."""

    symbol: str
    strategy: Strategy
    signal: Signal
    quantity: int
    entry_price: float
    stop_loss: float
    take_profit: float
    notional: float
    max_loss: float
    approved: bool
    rationale: list[str] = field(default_factory=list)


@dataclass
class AgentContext:
    """What an agent knows so far; agents fill in the reports that are still missing.

    Workflows pass the reports earlier agents returned, so later agents build on them instead
    of recomputing (and so a reasoner sees the whole picture).
    """

    symbol: str
    strategy: Strategy = Strategy.ADAPTIVE
    account_id: str = "paper"
    exchange: str = "NYSE"
    timeframe: str = "1d"
    bars: int = 120
    as_of: datetime | None = None
    research: ResearchReport | None = None
    analysis: AnalysisReport | None = None
    risk: RiskAssessment | None = None
    notes: list[str] = field(default_factory=list)

    def trade_request(self, side: Side) -> TradeRequest:
        """A trade of this context's symbol by its strategy, for its account on its exchange
        (the size left to the risk model)."""
        return TradeRequest(
            self.symbol, self.strategy, side, account_id=self.account_id, exchange=self.exchange
        )


@dataclass
class AgentDecision:
    """A reasoner's decision: an action to take and why."""

    agent: str
    symbol: str
    action: Signal
    quantity: int
    confidence: float
    rationale: list[str] = field(default_factory=list)
    reasoner: str = "rule-based"


@dataclass
class ConsensusRequest:
    """Several agents' decisions on one symbol, for the coordinator to combine."""

    symbol: str
    decisions: list[AgentDecision]
    min_agreement: float = 0.5


@dataclass
class Consensus:
    """The coordinator's combined decision; ``votes`` is confidence-weighted support per action."""

    symbol: str
    action: Signal
    confidence: float
    agreement: float
    quantity: int
    votes: dict[str, float] = field(default_factory=dict)
    rationale: list[str] = field(default_factory=list)


@dataclass
class ActionRequest:
    """Ask the action agent to carry out a decision."""

    decision: AgentDecision
    account_id: str
    idempotency_key: str
    price: float | None = None


# --------------------------------------------------------------------------- errors


class TradingError(Exception):
    """Base of the reference system's domain errors.

    Each subclass names the Temporal ``ApplicationError`` type it becomes at the activity
    boundary and whether retrying can help, so workflows and tests match on a stable string:
    ``class UnknownSymbolError(TradingError, error_type=UNKNOWN_SYMBOL)``, ``retryable=True``
    for an error that a later attempt can get past.
    """

    error_type: str = "TradingError"
    retryable: bool = False

    def __init_subclass__(
        cls, *, error_type: str | None = None, retryable: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if error_type is not None:
            cls.error_type = error_type
        if retryable is not None:
            cls.retryable = retryable

    def to_application_error(self) -> ApplicationError:
        """The ``ApplicationError`` an activity raises for this error."""
        return ApplicationError(str(self), type=self.error_type, non_retryable=not self.retryable)


async def run_in_thread(work: Callable[[_T], _R], argument: _T) -> _R:
    """Do an activity's ``work(argument)`` in a thread, raising a ``TradingError`` as the
    ``ApplicationError`` it stands for.

    A thread, because the work may block: SQLite, files, a market-data network, an LLM client.
    """
    try:
        return await asyncio.to_thread(work, argument)
    except TradingError as error:
        raise error.to_application_error() from error
