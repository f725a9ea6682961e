"""The automated trading workflow (four agents in sequence) and its multi-exchange variant.

``AutomatedTradingWorkflow`` runs the article's pipeline: a market-analysis agent, a risk agent,
a decision (planning) agent and an execution agent, one after the other, each building on the
previous one's report. A trade whose risk score is above the threshold (0.7 by default) is
skipped before any decision is made. Two queries show where it is: ``get_progress`` (which step,
how far along) and ``get_trade_state`` (every report so far).

``EnhancedParallelTradingWorkflow`` fetches the symbol's market data from NYSE, NASDAQ and LSE at
once, tolerates the venues that fail, trades on the most liquid one that answered, and reports
which venues failed and why.

Both retry activities with the policy every pattern shares (``RetryOptions``, in
:mod:`.common`): transient failures are retried, the domain's permanent errors are not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.analysis import calculate_technical_indicators
    from reference_workflows.market import MarketDataService
    from reference_workflows.models import (
        ActionRequest,
        AgentDecision,
        AnalysisReport,
        ExecutionStatus,
        MarketData,
        MarketDataRequest,
        RiskAssessment,
        Side,
        Strategy,
        TechnicalIndicators,
        TradeExecution,
        TradeRequest,
        TradingPlan,
    )
    from reference_workflows.risk import RISK_THRESHOLD

    # The plumbing every pattern shares was first defined here: the names in ``__all__`` stay
    # importable from this module.
    from reference_workflows.workflows.common import (
        DEFAULT_EXCHANGES,
        INSUFFICIENT_MARKET_SOURCES,
        INVALID_WORKFLOW_INPUT,
        NON_RETRYABLE_ERROR_TYPES,
        AnalysisInput,
        MarketInput,
        RetryOptions,
        SourceFailure,
        apply_threshold,
        check_threshold,
        error_message,
        error_type,
        invalid_input,
        retry_policy,
        risk_too_high,
        too_few_sources,
    )
    from reference_workflows.workflows.steps import (
        MarketSnapshot,
        assess_trade_risk,
        execute_once,
        skipped,
    )


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
class AutomatedTradingInput(AnalysisInput):
    """A trade for the agents to analyse, size and (if risk allows) place.

    ``as_of`` pins the market to a past moment (default: workflow time), ``max_quantity`` caps
    the plan's size, ``market_data_task_queue`` sends the analysis agent to the market-data
    workers (default: this workflow's queue).
    """

    strategy: Strategy = Strategy.MOMENTUM
    risk_threshold: float = RISK_THRESHOLD
    max_quantity: int | None = None


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
        options: dict[str, Any] = {"start_to_close_timeout": timeout, "retry_policy": policy}
        # Pinned once, so that every agent (and every retry) sees the same bars.
        context = request.agent_context(request.as_of or workflow.now(), strategy=request.strategy)

        self._step(MARKET_ANALYSIS, f"analysing {request.symbol} on {request.exchange}", state)
        analysis: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent,
            context,
            task_queue=request.market_data_task_queue,
            summary="market analysis agent",
            **options,
        )
        state.analysis = context.analysis = analysis
        self._progress.finish(MARKET_ANALYSIS)

        self._step(RISK_ASSESSMENT, f"assessing the risk of {analysis.signal.value}", state)
        assessed: RiskAssessment = await workflow.execute_activity_method(
            Agents.risk_agent, context, summary="risk assessment agent", **options
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
            Agents.planning_agent, context, summary="decision agent", **options
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
            reason = f"the plan is not to trade ({plan.signal.value}, {plan.quantity} shares)"
            return self._outcome(request, state, skipped(request.symbol, reason))

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
class EnhancedParallelTradingInput(MarketInput):
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
    risk_threshold: float = RISK_THRESHOLD


@dataclass
class VenueSnapshot:
    """What one exchange reported for the symbol."""

    exchange: str
    last_price: float
    average_volume: float
    volatility: float
    indicators: TechnicalIndicators


@dataclass
class VenueFailure(SourceFailure):
    """An exchange that did not answer, after its retries."""


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
        market_options = request.market_data_options()
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
            raise too_few_sources(
                request.symbol, exchanges, len(sources), request.min_sources, failures
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
        trading_options = request.activity_options()
        trade = TradeRequest(
            request.symbol,
            request.strategy,
            request.side,
            quantity=request.quantity,
            account_id=request.account_id,
            exchange=chosen.exchange,
        )
        market = MarketSnapshot(data, chosen.indicators)
        assessed = await assess_trade_risk(trade, market, trading_options)
        risk = apply_threshold(assessed, request.risk_threshold)
        self._progress.finish(RISK_ASSESSMENT)

        quantity = min(request.quantity or risk.max_position_size, risk.max_position_size)
        if risk.risk_score > request.risk_threshold:
            execution = skipped(request.symbol, risk_too_high(risk))
        elif quantity < 1:
            execution = skipped(request.symbol, "no share fits the risk limits")
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
