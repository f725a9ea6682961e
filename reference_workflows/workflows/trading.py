"""The automated trading workflow (four agents in sequence) and its multi-exchange variant.

``AutomatedTradingWorkflow`` runs the article's pipeline: a market-analysis agent, a risk agent,
a decision (planning) agent and an execution agent, one after the other, each building on the
previous one's report. A trade whose risk score is above the threshold (0.7 by default) is
skipped before any decision is made. Two queries show where it is: ``get_progress`` (which step,
how far along) and ``get_trade_state`` (every report so far).

``EnhancedParallelTradingWorkflow`` fetches the symbol's market data from NYSE, NASDAQ and LSE at
once, tolerates the venues that fail, trades on the most liquid one that answered, and reports
which venues failed and why.

Both retry activities with one policy (``RetryOptions``): transient failures (an exchange that
is down) are retried with exponential backoff, while the domain's permanent errors (unknown
symbol, insufficient funds...) are listed as non-retryable, so they fail at once instead of
burning attempts. The other agent modules share that policy from here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import AGENT_MISCONFIGURED, INVALID_CONSENSUS_REQUEST, Agents
    from reference_workflows.analysis import (
        INSUFFICIENT_MARKET_DATA,
        calculate_technical_indicators,
    )
    from reference_workflows.broker import (
        IDEMPOTENCY_KEY_CONFLICT,
        INSUFFICIENT_FUNDS,
        INSUFFICIENT_POSITION,
        INVALID_BROKER_REQUEST,
        ORDER_NOT_CANCELLABLE,
        ORDER_NOT_FILLABLE,
        UNKNOWN_ORDER,
        UNKNOWN_RESERVATION,
        PaperBroker,
    )
    from reference_workflows.market import (
        CORRUPT_MARKET_DATA,
        INVALID_MARKET_DATA_REQUEST,
        UNKNOWN_SYMBOL,
        MarketDataService,
    )
    from reference_workflows.models import (
        AccountRequest,
        ActionRequest,
        AgentContext,
        AgentDecision,
        AnalysisReport,
        ExecuteTradeRequest,
        ExecutionStatus,
        MarketData,
        MarketDataRequest,
        RiskAssessment,
        RiskAssessmentRequest,
        Side,
        Strategy,
        TechnicalIndicators,
        TradeExecution,
        TradeRequest,
        TradingPlan,
    )
    from reference_workflows.risk import INVALID_TRADE_REQUEST, RISK_THRESHOLD, assess_risk

INVALID_WORKFLOW_INPUT = "InvalidWorkflowInput"
"""ApplicationError type of a workflow input that cannot work (the workflow fails at once)."""
INSUFFICIENT_MARKET_SOURCES = "InsufficientMarketSources"
"""ApplicationError type when fewer exchanges answered than ``min_sources``."""

NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = (
    INVALID_MARKET_DATA_REQUEST,
    UNKNOWN_SYMBOL,
    CORRUPT_MARKET_DATA,
    INSUFFICIENT_MARKET_DATA,
    INVALID_TRADE_REQUEST,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_POSITION,
    UNKNOWN_ORDER,
    UNKNOWN_RESERVATION,
    ORDER_NOT_CANCELLABLE,
    ORDER_NOT_FILLABLE,
    IDEMPOTENCY_KEY_CONFLICT,
    INVALID_BROKER_REQUEST,
    AGENT_MISCONFIGURED,
    INVALID_CONSENSUS_REQUEST,
)
"""Domain errors that the same call would raise again: retrying them only delays the failure.

The activities already mark these non-retryable; listing them in the policy as well keeps the
guarantee if an activity implementation (an LLM reasoner, a real broker client) forgets to.
"""

REFUSALS = frozenset({INSUFFICIENT_FUNDS, INSUFFICIENT_POSITION})
"""Broker errors that are an outcome of the trade (REJECTED), not a failure of the workflow."""

DEFAULT_EXCHANGES = ["NYSE", "NASDAQ", "LSE"]


# --------------------------------------------------------------------------- shared plumbing


@dataclass
class RetryOptions:
    """How activities are retried: exponential backoff, bounded attempts.

    Seconds rather than ``timedelta`` so that the input stays plain JSON for the CLI.
    """

    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 30.0
    maximum_attempts: int = 5


def retry_policy(options: RetryOptions) -> RetryPolicy:
    """The activity retry policy for ``options``, with the domain's permanent errors excluded.

    Raises:
        ApplicationError: (``InvalidWorkflowInput``) an option is out of range.
    """
    if options.initial_interval_seconds <= 0 or options.maximum_attempts < 1:
        raise invalid_input(
            f"retry options {options!r} cannot work; use initial_interval_seconds > 0 and "
            "maximum_attempts >= 1"
        )
    return RetryPolicy(
        initial_interval=timedelta(seconds=options.initial_interval_seconds),
        backoff_coefficient=options.backoff_coefficient,
        maximum_interval=timedelta(
            seconds=max(options.maximum_interval_seconds, options.initial_interval_seconds)
        ),
        maximum_attempts=options.maximum_attempts,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    )


def invalid_input(message: str) -> ApplicationError:
    """A non-retryable failure for a workflow input that cannot work."""
    return ApplicationError(message, type=INVALID_WORKFLOW_INPUT, non_retryable=True)


def check_threshold(threshold: float) -> None:
    """Reject a risk threshold outside [0, 1] (risk scores live there)."""
    if not 0.0 <= threshold <= 1.0:
        raise invalid_input(f"risk_threshold={threshold!r} is outside [0, 1]; the default is 0.7")


def error_type(error: BaseException) -> str:
    """The ``ApplicationError`` type behind an activity or child failure (or the class name)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return cause.type
        cause = cause.__cause__
    return type(error).__name__


def error_message(error: BaseException) -> str:
    """The innermost message of a failure chain: what actually went wrong."""
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error)


async def execute_once(
    account_id: str,
    symbol: str,
    side: Side,
    quantity: int,
    price: float,
    options: dict[str, Any],
) -> TradeExecution:
    """Execute this workflow's one trade at ``price`` (see :func:`execute_or_reject`).

    The idempotency key is the workflow id, so a retried activity never fills twice; the
    price is the one the workflow decided on, not the broker's wall-clock price, so fills
    are reproducible.
    """
    order = ExecuteTradeRequest(
        account_id,
        symbol,
        side,
        quantity,
        idempotency_key=f"{workflow.info().workflow_id}:execute",
        price=price,
    )
    return await execute_or_reject(order, options)


async def execute_or_reject(order: ExecuteTradeRequest, options: dict[str, Any]) -> TradeExecution:
    """Trade through the broker; a refusal (no cash, no shares) is a REJECTED execution.

    A refusal is an answer, not a fault: the workflow reports it instead of failing.
    """
    try:
        result: TradeExecution = await workflow.execute_activity_method(
            PaperBroker.execute_trade, order, **options
        )
        return result
    except ActivityError as error:
        if error_type(error) not in REFUSALS:
            raise
        return TradeExecution(
            ExecutionStatus.REJECTED,
            order.symbol,
            Side(order.side),
            order.quantity,
            order.price,
            reason=error_message(error),
        )


def apply_threshold(risk: RiskAssessment, threshold: float) -> RiskAssessment:
    """``risk`` judged against the workflow's threshold instead of the risk model's default."""
    approved = risk.risk_score <= threshold and risk.max_position_size > 0
    return replace(risk, threshold=threshold, approved=approved)


def risk_too_high(risk: RiskAssessment) -> str:
    """The skip reason for a trade whose risk is above its threshold."""
    return f"risk score {risk.risk_score:.2f} is above the threshold {risk.threshold:.2f}"


@dataclass
class TradingProgress:
    """Where a trading workflow is: the step running now and those already done."""

    stage: str
    completed_steps: list[str] = field(default_factory=list)
    total_steps: int = 4
    percent_complete: float = 0.0
    message: str = ""


class _Progress:
    """Tracks the steps of a workflow for its ``get_progress`` query."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.stage = "pending"
        self.done: list[str] = []
        self.message = "waiting for the first step"

    def start(self, step: str, message: str) -> None:
        self.stage, self.message = step, message

    def finish(self, step: str) -> None:
        self.done.append(step)

    def close(self, stage: str, message: str) -> None:
        self.stage, self.message = stage, message

    def view(self) -> TradingProgress:
        percent = 100.0 if self.stage == "completed" else 100.0 * len(self.done) / len(self.steps)
        return TradingProgress(
            self.stage, list(self.done), len(self.steps), round(percent, 1), self.message
        )


# --------------------------------------------------------------------------- automated trading

MARKET_ANALYSIS = "market_analysis"
RISK_ASSESSMENT = "risk_assessment"
DECISION = "decision"
EXECUTION = "execution"
TRADING_STEPS = [MARKET_ANALYSIS, RISK_ASSESSMENT, DECISION, EXECUTION]


@dataclass
class AutomatedTradingInput:
    """A trade for the agents to analyse, size and (if risk allows) place.

    ``as_of`` pins the market to a past moment (default: workflow time), ``max_quantity`` caps
    the plan's size, ``market_data_task_queue`` sends the analysis agent to the market-data
    workers (default: this workflow's queue).
    """

    symbol: str
    strategy: Strategy = Strategy.MOMENTUM
    account_id: str = "paper"
    exchange: str = "NYSE"
    timeframe: str = "1d"
    bars: int = 120
    as_of: datetime | None = None
    risk_threshold: float = RISK_THRESHOLD
    max_quantity: int | None = None
    retry: RetryOptions = field(default_factory=RetryOptions)
    activity_timeout_seconds: float = 30.0
    market_data_task_queue: str | None = None


@dataclass
class TradeState:
    """Everything the agents have produced so far (the ``get_trade_state`` query)."""

    symbol: str
    strategy: Strategy
    stage: str
    analysis: AnalysisReport | None = None
    risk: RiskAssessment | None = None
    plan: TradingPlan | None = None
    execution: TradeExecution | None = None
    error: str = ""


@dataclass
class AutomatedTradingResult:
    """The outcome: FILLED, SKIPPED (risk or a HOLD plan) or REJECTED (by the broker)."""

    symbol: str
    strategy: Strategy
    status: ExecutionStatus
    reason: str
    analysis: AnalysisReport
    risk: RiskAssessment
    plan: TradingPlan | None
    execution: TradeExecution


@workflow.defn
class AutomatedTradingWorkflow:
    """Market analysis, risk assessment, decision and execution agents, in sequence."""

    def __init__(self) -> None:
        self._progress = _Progress(TRADING_STEPS)
        self._state: TradeState | None = None

    @workflow.query
    def get_progress(self) -> TradingProgress:
        """The step running now, the steps done and the percentage complete."""
        return self._progress.view()

    @workflow.query
    def get_trade_state(self) -> TradeState | None:
        """The reports gathered so far (None before the workflow has started its first step)."""
        return self._state

    @workflow.run
    async def run(self, request: AutomatedTradingInput) -> AutomatedTradingResult:
        check_threshold(request.risk_threshold)
        if request.max_quantity is not None and request.max_quantity < 1:
            raise invalid_input(f"max_quantity={request.max_quantity!r}; give at least 1 or None")
        state = self._state = TradeState(
            request.symbol, Strategy(request.strategy), self._progress.stage
        )
        try:
            return await self._trade(request, state)
        except Exception as error:
            self._progress.close("failed", error_message(error))
            state.stage, state.error = "failed", error_message(error)
            raise

    async def _trade(
        self, request: AutomatedTradingInput, state: TradeState
    ) -> AutomatedTradingResult:
        policy = retry_policy(request.retry)
        timeout = timedelta(seconds=request.activity_timeout_seconds)
        context = AgentContext(
            symbol=request.symbol,
            strategy=request.strategy,
            account_id=request.account_id,
            exchange=request.exchange,
            timeframe=request.timeframe,
            bars=request.bars,
            # Pinned once, so that every agent (and every retry) sees the same bars.
            as_of=request.as_of or workflow.now(),
        )

        self._step(MARKET_ANALYSIS, f"analysing {request.symbol} on {request.exchange}", state)
        analysis: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent,
            context,
            start_to_close_timeout=timeout,
            retry_policy=policy,
            task_queue=request.market_data_task_queue,
            summary="market analysis agent",
        )
        state.analysis = context.analysis = analysis
        self._progress.finish(MARKET_ANALYSIS)

        self._step(RISK_ASSESSMENT, f"assessing the risk of {analysis.signal.value}", state)
        assessed: RiskAssessment = await workflow.execute_activity_method(
            Agents.risk_agent,
            context,
            start_to_close_timeout=timeout,
            retry_policy=policy,
            summary="risk assessment agent",
        )
        risk = state.risk = context.risk = apply_threshold(assessed, request.risk_threshold)
        self._progress.finish(RISK_ASSESSMENT)
        if risk.risk_score > request.risk_threshold:
            return self._outcome(
                request,
                state,
                TradeExecution(ExecutionStatus.SKIPPED, request.symbol, reason=risk_too_high(risk)),
            )

        self._step(DECISION, "planning entry, size, stop-loss and take-profit", state)
        plan: TradingPlan = await workflow.execute_activity_method(
            Agents.planning_agent,
            context,
            start_to_close_timeout=timeout,
            retry_policy=policy,
            summary="decision agent",
        )
        if request.max_quantity is not None and plan.quantity > request.max_quantity:
            plan = replace(
                plan,
                quantity=request.max_quantity,
                notional=round(request.max_quantity * plan.entry_price, 2),
                rationale=[*plan.rationale, f"capped at max_quantity={request.max_quantity}"],
            )
        state.plan = plan
        self._progress.finish(DECISION)
        if not plan.approved:
            return self._outcome(
                request,
                state,
                TradeExecution(
                    ExecutionStatus.SKIPPED,
                    request.symbol,
                    reason=f"the plan is not to trade ({plan.signal.value}, {plan.quantity} shares)",
                ),
            )

        self._step(EXECUTION, f"{plan.signal.value} {plan.quantity} {request.symbol}", state)
        decision = AgentDecision(
            agent="decision",
            symbol=request.symbol,
            action=plan.signal,
            quantity=plan.quantity,
            confidence=analysis.confidence,
            rationale=plan.rationale,
        )
        execution: TradeExecution = await workflow.execute_activity_method(
            Agents.action_agent,
            ActionRequest(
                decision,
                request.account_id,
                idempotency_key=f"{workflow.info().workflow_id}:execute",
                price=plan.entry_price,
            ),
            start_to_close_timeout=timeout,
            retry_policy=policy,
            summary="execution agent",
        )
        self._progress.finish(EXECUTION)
        return self._outcome(request, state, execution)

    def _step(self, step: str, message: str, state: TradeState) -> None:
        self._progress.start(step, message)
        state.stage = step

    def _outcome(
        self, request: AutomatedTradingInput, state: TradeState, execution: TradeExecution
    ) -> AutomatedTradingResult:
        state.execution = execution
        state.stage = "completed"
        reason = execution.reason or (
            f"{execution.status.value}: {execution.quantity} at {execution.price}"
        )
        self._progress.close("completed", reason)
        assert state.analysis is not None and state.risk is not None  # set before any outcome
        return AutomatedTradingResult(
            symbol=request.symbol,
            strategy=Strategy(request.strategy),
            status=execution.status,
            reason=reason,
            analysis=state.analysis,
            risk=state.risk,
            plan=state.plan,
            execution=execution,
        )


# --------------------------------------------------------------------------- enhanced parallel

FETCHING = "fetching_market_data"
ANALYSING = "analysing_venues"
PARALLEL_STEPS = [FETCHING, ANALYSING, RISK_ASSESSMENT, EXECUTION]


@dataclass
class EnhancedParallelTradingInput:
    """Trade ``symbol`` on the most liquid of several exchanges, fetched in parallel.

    At least ``min_sources`` exchanges must answer; the others are reported, not fatal.
    ``quantity`` defaults to the risk model's maximum position size.
    """

    symbol: str
    strategy: Strategy = Strategy.MOMENTUM
    side: Side = Side.BUY
    exchanges: list[str] = field(default_factory=lambda: list(DEFAULT_EXCHANGES))
    min_sources: int = 1
    quantity: int | None = None
    account_id: str = "paper"
    timeframe: str = "1d"
    bars: int = 120
    as_of: datetime | None = None
    risk_threshold: float = RISK_THRESHOLD
    retry: RetryOptions = field(default_factory=RetryOptions)
    activity_timeout_seconds: float = 30.0
    market_data_task_queue: str | None = None


@dataclass
class VenueSnapshot:
    """What one exchange reported for the symbol."""

    exchange: str
    last_price: float
    average_volume: float
    volatility: float
    indicators: TechnicalIndicators


@dataclass
class VenueFailure:
    """An exchange that did not answer, after its retries."""

    exchange: str
    error_type: str
    message: str


@dataclass
class EnhancedParallelTradingResult:
    """The venues that answered and failed, the venue chosen, the risk and the execution."""

    symbol: str
    status: ExecutionStatus
    chosen_exchange: str
    venues: list[VenueSnapshot]
    failures: list[VenueFailure]
    risk: RiskAssessment
    execution: TradeExecution


@workflow.defn
class EnhancedParallelTradingWorkflow:
    """Market data from NYSE, NASDAQ and LSE at once; partial failures tolerated."""

    def __init__(self) -> None:
        self._progress = _Progress(PARALLEL_STEPS)

    @workflow.query
    def get_progress(self) -> TradingProgress:
        """The step running now, the steps done and the percentage complete."""
        return self._progress.view()

    @workflow.run
    async def run(self, request: EnhancedParallelTradingInput) -> EnhancedParallelTradingResult:
        check_threshold(request.risk_threshold)
        exchanges = [exchange.upper() for exchange in request.exchanges]
        if not exchanges or len(set(exchanges)) != len(exchanges):
            raise invalid_input(f"exchanges={request.exchanges!r}; list each exchange once")
        if request.quantity is not None and request.quantity < 1:
            raise invalid_input(f"quantity={request.quantity!r}; give at least 1 or None")
        if not 1 <= request.min_sources <= len(exchanges):
            raise invalid_input(
                f"min_sources={request.min_sources!r} must be between 1 and {len(exchanges)}"
            )
        try:
            return await self._trade(request, exchanges)
        except Exception as error:
            self._progress.close("failed", error_message(error))
            raise

    async def _trade(
        self, request: EnhancedParallelTradingInput, exchanges: list[str]
    ) -> EnhancedParallelTradingResult:
        policy = retry_policy(request.retry)
        timeout = timedelta(seconds=request.activity_timeout_seconds)
        market_options: dict[str, Any] = {
            "start_to_close_timeout": timeout,
            "retry_policy": policy,
            "task_queue": request.market_data_task_queue,
        }
        as_of = request.as_of or workflow.now()

        self._progress.start(FETCHING, f"fetching {request.symbol} from {', '.join(exchanges)}")
        fetched = await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    MarketDataService.fetch_market_data,
                    MarketDataRequest(
                        request.symbol, exchange, request.timeframe, request.bars, as_of
                    ),
                    summary=f"market data from {exchange}",
                    **market_options,
                )
                for exchange in exchanges
            ),
            return_exceptions=True,
        )
        sources: list[MarketData] = []
        failures: list[VenueFailure] = []
        for exchange, outcome in zip(exchanges, fetched):
            if isinstance(outcome, ActivityError):
                failures.append(VenueFailure(exchange, error_type(outcome), error_message(outcome)))
            elif isinstance(outcome, BaseException):
                raise outcome  # cancellation or a bug: not a venue being down
            else:
                sources.append(outcome)
        self._progress.finish(FETCHING)
        if len(sources) < request.min_sources:
            detail = "; ".join(f"{f.exchange}: {f.error_type}: {f.message}" for f in failures)
            raise ApplicationError(
                f"only {len(sources)} of {len(exchanges)} exchanges answered for "
                f"{request.symbol!r}, {request.min_sources} needed ({detail})",
                type=INSUFFICIENT_MARKET_SOURCES,
                non_retryable=True,
            )

        self._progress.start(ANALYSING, f"indicators for {len(sources)} venue(s)")
        indicator_sets: list[TechnicalIndicators] = await asyncio.gather(
            *(
                workflow.execute_activity(
                    calculate_technical_indicators,
                    data,
                    summary=f"indicators from {data.exchange}",
                    **market_options,
                )
                for data in sources
            )
        )
        venues = [
            VenueSnapshot(
                data.exchange,
                data.last_price,
                round(sum(bar.volume for bar in data.bars) / len(data.bars), 1),
                indicators.volatility,
                indicators,
            )
            for data, indicators in zip(sources, indicator_sets)
        ]
        # The deepest book gives the best fill; ties go to the first exchange listed.
        best = max(range(len(venues)), key=lambda i: (venues[i].average_volume, -i))
        chosen, data = venues[best], sources[best]
        self._progress.finish(ANALYSING)

        self._progress.start(RISK_ASSESSMENT, f"risk on {chosen.exchange}")
        trading_options: dict[str, Any] = {
            "start_to_close_timeout": timeout,
            "retry_policy": policy,
        }
        account = await workflow.execute_activity_method(
            PaperBroker.get_account, AccountRequest(request.account_id), **trading_options
        )
        trade = TradeRequest(
            request.symbol,
            request.strategy,
            request.side,
            quantity=request.quantity,
            account_id=request.account_id,
            exchange=chosen.exchange,
        )
        assessed: RiskAssessment = await workflow.execute_activity(
            assess_risk,
            RiskAssessmentRequest(
                trade,
                data,
                chosen.indicators,
                account_equity=account.value_at({request.symbol: chosen.last_price}),
                available_cash=account.cash,
            ),
            **trading_options,
        )
        risk = apply_threshold(assessed, request.risk_threshold)
        self._progress.finish(RISK_ASSESSMENT)

        quantity = min(request.quantity or risk.max_position_size, risk.max_position_size)
        if risk.risk_score > request.risk_threshold:
            execution = TradeExecution(
                ExecutionStatus.SKIPPED, request.symbol, reason=risk_too_high(risk)
            )
        elif quantity < 1:
            execution = TradeExecution(
                ExecutionStatus.SKIPPED, request.symbol, reason="no share fits the risk limits"
            )
        else:
            self._progress.start(EXECUTION, f"{request.side.value} {quantity} on {chosen.exchange}")
            execution = await execute_once(
                request.account_id,
                request.symbol,
                request.side,
                quantity,
                chosen.last_price,
                trading_options,
            )
            self._progress.finish(EXECUTION)
        self._progress.close("completed", execution.reason or execution.status.value)
        return EnhancedParallelTradingResult(
            request.symbol, execution.status, chosen.exchange, venues, failures, risk, execution
        )


WORKFLOWS: list[type] = [AutomatedTradingWorkflow, EnhancedParallelTradingWorkflow]

__all__ = [
    "DEFAULT_EXCHANGES",
    "INSUFFICIENT_MARKET_SOURCES",
    "INVALID_WORKFLOW_INPUT",
    "NON_RETRYABLE_ERROR_TYPES",
    "TRADING_STEPS",
    "WORKFLOWS",
    "AutomatedTradingInput",
    "AutomatedTradingResult",
    "AutomatedTradingWorkflow",
    "EnhancedParallelTradingInput",
    "EnhancedParallelTradingResult",
    "EnhancedParallelTradingWorkflow",
    "RetryOptions",
    "TradeState",
    "TradingProgress",
    "VenueFailure",
    "VenueSnapshot",
    "retry_policy",
]
