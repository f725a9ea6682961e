"""Agent workflows: collaborative, adaptive, long-running, multi-agent orchestration, AI agent.

- ``CollaborativeAgentsWorkflow``: research and analysis fill a shared context, the four strategy
  agents vote on it in parallel, a coordinator forms the consensus, and the consensus is traded.
- ``AdaptiveAgentWorkflow``: observe, decide, and if not confident enough, switch strategy, wait
  and look again; a bounded number of iterations, then act on the best it has.
- ``LongRunningAgentWorkflow``: a conversational advisor that lives across many messages
  (signals), answers a ``conversation`` query, and continues as new before its history grows
  large, carrying a summary of the conversation into the next run.
- ``MultiAgentOrchestrationWorkflow``: an orchestrator running research and analysis in parallel,
  then risk, planning and action, with a status board query per agent.
- ``AIAgentWorkflow``: a reasoning agent decides (retried: a model can time out or answer
  nonsense), then an action agent carries the decision out.

Every agent is an activity (``reference_workflows.agents.Agents``), so a reasoner backed by a
language model plugs in without touching these workflows.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import KW_ONLY, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.models import (
        AgentContext,
        AgentDecision,
        AnalysisReport,
        Consensus,
        ConsensusRequest,
        ExecutionStatus,
        ResearchReport,
        RiskAssessment,
        Signal,
        Strategy,
        StrategySignal,
        TradeExecution,
        TradingPlan,
    )
    from reference_workflows.risk import RISK_THRESHOLD
    from reference_workflows.workflows.common import (
        AnalysisInput,
        apply_threshold,
        check_threshold,
        error_message,
        invalid_input,
        risk_too_high,
    )
    from reference_workflows.workflows.steps import act, skipped


@dataclass
class AgentInput(AnalysisInput):
    """What every agent workflow's input has: the symbol and the strategy its agents judge by."""

    strategy: Strategy = Strategy.ADAPTIVE

    def agent_context(self, as_of: datetime, **changes: Any) -> AgentContext:
        """``AnalysisInput.agent_context`` judged by this input's ``strategy`` (unless given)."""
        return super().agent_context(as_of, **{"strategy": self.strategy, **changes})


def _options(request: AgentInput, *, market: bool = False) -> dict[str, Any]:
    """Activity options; ``market=True`` sends the activity to the market-data workers."""
    return request.market_data_options() if market else request.activity_options()


@dataclass
class ActingAgentInput(AgentInput):
    """An ``AgentInput`` whose agents may trade: with ``execute=False`` they only decide."""

    _: KW_ONLY
    execute: bool = True


async def _act(request: ActingAgentInput, decision: AgentDecision, price: float) -> TradeExecution:
    """The action agent carries ``decision`` out at ``price`` (HOLD comes back SKIPPED), unless
    the input says not to execute (SKIPPED too, naming the action)."""
    if not request.execute:
        return skipped(request.symbol, f"not executed: {decision.action.value}")
    return await act(decision, request.account_id, price, _options(request))


# --------------------------------------------------------------------------- collaborative

STRATEGY_AGENTS = {
    Strategy.MOMENTUM: Agents.momentum_agent,
    Strategy.TREND_FOLLOWING: Agents.trend_following_agent,
    Strategy.MEAN_REVERSION: Agents.mean_reversion_agent,
    Strategy.ADAPTIVE: Agents.adaptive_agent,
}
HOLD_CONVICTION = 0.5
"""Weight of a strategy's HOLD vote: its signal strength is 0, yet "do nothing" is a view."""


@dataclass
class CollaborativeAgentsInput(ActingAgentInput):
    """Let the strategy agents vote on ``symbol`` and trade the consensus."""

    voters: list[Strategy] = field(default_factory=lambda: list(STRATEGY_AGENTS))
    min_agreement: float = 0.5
    risk_threshold: float = RISK_THRESHOLD


@dataclass
class CollaborativeAgentsResult:
    """The shared context, every vote, the consensus and what was traded."""

    symbol: str
    research: ResearchReport
    analysis: AnalysisReport
    risk: RiskAssessment
    signals: list[StrategySignal]
    consensus: Consensus
    status: ExecutionStatus
    execution: TradeExecution


@workflow.defn
class CollaborativeAgentsWorkflow:
    """Research and analysis build a shared context; strategy agents vote; a coordinator
    forms the consensus; the action agent trades it if risk allows."""

    @workflow.run
    async def run(self, request: CollaborativeAgentsInput) -> CollaborativeAgentsResult:
        check_threshold(request.risk_threshold)
        voters = [Strategy(v) for v in request.voters]
        if not voters or len(set(voters)) != len(voters):
            raise invalid_input(
                f"voters={request.voters!r}; list each of {[s.value for s in Strategy]} once"
            )
        if not 0.0 <= request.min_agreement <= 1.0:
            raise invalid_input(f"min_agreement={request.min_agreement!r} is outside [0, 1]")
        context = request.agent_context(request.as_of or workflow.now())
        market = _options(request, market=True)
        # Independent of each other: side by side.
        research, analysis = await asyncio.gather(
            workflow.execute_activity_method(Agents.research_agent, context, **market),
            workflow.execute_activity_method(Agents.analysis_agent, context, **market),
        )
        context.research, context.analysis = research, analysis
        assessed: RiskAssessment = await workflow.execute_activity_method(
            Agents.risk_agent, context, **_options(request)
        )
        risk = context.risk = apply_threshold(assessed, request.risk_threshold)
        # Every voter reads the same context, so none of them refetches the market.
        signals: list[StrategySignal] = list(
            await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        STRATEGY_AGENTS[voter], context, summary=f"{voter.value} agent", **market
                    )
                    for voter in voters
                )
            )
        )
        decisions = [self._vote(signal, risk) for signal in signals]
        consensus: Consensus = await workflow.execute_activity_method(
            Agents.coordinator_agent,
            ConsensusRequest(request.symbol, decisions, request.min_agreement),
            **_options(request),
        )
        if consensus.action is Signal.HOLD or consensus.quantity < 1:
            execution = skipped(
                request.symbol, f"the consensus is to hold ({consensus.action.value})"
            )
        elif risk.risk_score > request.risk_threshold:
            execution = skipped(request.symbol, risk_too_high(risk))
        else:
            decision = AgentDecision(
                "coordinator",
                request.symbol,
                consensus.action,
                consensus.quantity,
                consensus.confidence,
                consensus.rationale,
            )
            execution = await _act(request, decision, analysis.indicators.last_price)
        return CollaborativeAgentsResult(
            request.symbol,
            research,
            analysis,
            risk,
            signals,
            consensus,
            execution.status,
            execution,
        )

    @staticmethod
    def _vote(signal: StrategySignal, risk: RiskAssessment) -> AgentDecision:
        """A strategy's signal as a vote: conviction weighs it and sizes it within risk."""
        if signal.signal is Signal.HOLD:
            return AgentDecision(
                signal.strategy.value,
                signal.symbol,
                Signal.HOLD,
                0,
                HOLD_CONVICTION,
                [signal.rationale],
            )
        quantity = max(1, math.floor(risk.max_position_size * signal.strength))
        return AgentDecision(
            signal.strategy.value,
            signal.symbol,
            signal.signal,
            min(quantity, risk.max_position_size),
            signal.strength,
            [signal.rationale],
        )


# --------------------------------------------------------------------------- adaptive

ADAPTATION_ORDER = [
    Strategy.ADAPTIVE,
    Strategy.TREND_FOLLOWING,
    Strategy.MEAN_REVERSION,
    Strategy.MOMENTUM,
]
"""The strategy an unconvinced agent tries next (after the one it used, in this order)."""
MAX_ITERATIONS = 20


@dataclass
class AdaptiveAgentInput(ActingAgentInput):
    """Refine a decision on ``symbol`` until ``min_confidence``, at most ``max_iterations``.

    Between iterations the agent waits ``observe_every_seconds`` (a day: new bars) and tries
    the next strategy in ``ADAPTATION_ORDER``.
    """

    max_iterations: int = 5
    min_confidence: float = 0.75
    observe_every_seconds: float = 86_400.0


@dataclass
class AdaptiveIteration:
    """One observe-and-decide round."""

    number: int
    as_of: datetime
    strategy: Strategy
    action: Signal
    confidence: float
    quantity: int
    price: float


@dataclass
class AdaptiveAgentResult:
    """Every iteration, whether the agent became confident, and what it did."""

    symbol: str
    converged: bool
    iterations: list[AdaptiveIteration]
    decision: AgentDecision
    status: ExecutionStatus
    execution: TradeExecution


@workflow.defn
class AdaptiveAgentWorkflow:
    """Observe, decide, adapt the strategy and look again: a bounded loop."""

    def __init__(self) -> None:
        self._iterations: list[AdaptiveIteration] = []

    @workflow.query
    def get_iterations(self) -> list[AdaptiveIteration]:
        """The iterations so far."""
        return list(self._iterations)

    @workflow.run
    async def run(self, request: AdaptiveAgentInput) -> AdaptiveAgentResult:
        if not 1 <= request.max_iterations <= MAX_ITERATIONS:
            raise invalid_input(
                f"max_iterations={request.max_iterations!r}; use 1 to {MAX_ITERATIONS}: the loop "
                "must be bounded, and a long one belongs in a long-running workflow"
            )
        if request.observe_every_seconds <= 0:
            raise invalid_input(
                f"observe_every_seconds={request.observe_every_seconds!r} must be positive"
            )
        interval = timedelta(seconds=request.observe_every_seconds)
        strategy = Strategy(request.strategy)
        best: tuple[AgentDecision, float] | None = None
        converged = False
        for number in range(1, request.max_iterations + 1):
            # A pinned start moves on with each wait, like the clock does when unpinned.
            as_of = request.as_of + (number - 1) * interval if request.as_of else workflow.now()
            context = request.agent_context(as_of, strategy=strategy)
            analysis: AnalysisReport = await workflow.execute_activity_method(
                Agents.analysis_agent, context, **_options(request, market=True)
            )
            context.analysis = analysis
            decision: AgentDecision = await workflow.execute_activity_method(
                Agents.reasoning_agent, context, **_options(request)
            )
            price = analysis.indicators.last_price
            self._iterations.append(
                AdaptiveIteration(
                    number,
                    as_of,
                    strategy,
                    decision.action,
                    decision.confidence,
                    decision.quantity,
                    price,
                )
            )
            if best is None or decision.confidence > best[0].confidence:
                best = (decision, price)
            if decision.confidence >= request.min_confidence:
                converged = True
                break
            if number < request.max_iterations:
                strategy = _next_strategy(strategy)
                await workflow.sleep(interval)
        assert best is not None  # max_iterations >= 1
        decision, price = best
        if not converged:
            execution = skipped(
                request.symbol,
                f"no decision reached confidence {request.min_confidence:.2f} in "
                f"{request.max_iterations} iterations (best {decision.confidence:.2f})",
            )
        else:
            execution = await _act(request, decision, price)
        return AdaptiveAgentResult(
            request.symbol,
            converged,
            list(self._iterations),
            decision,
            execution.status,
            execution,
        )


def _next_strategy(current: Strategy) -> Strategy:
    return ADAPTATION_ORDER[(ADAPTATION_ORDER.index(current) + 1) % len(ADAPTATION_ORDER)]


# --------------------------------------------------------------------------- long-running

RECENT_MESSAGES = 10
"""Messages carried into the next run (the rest lives on in the summary)."""
_TICKER = re.compile(r"\$([A-Za-z][A-Za-z0-9.]{0,9})|\b([A-Z]{2,5})\b")
_NOT_TICKERS = frozenset({"AI", "OK", "THE", "AND", "BUY", "SELL", "HOLD", "WHAT", "HOW", "IS"})


@dataclass
class ChatMessage:
    """One line of the conversation."""

    role: str  # "user" or "agent"
    text: str
    symbol: str | None = None
    action: Signal | None = None


@dataclass
class ConversationSummary:
    """What survives continue-as-new: counts, symbols and the latest view on each."""

    total_messages: int = 0
    """User messages answered, over all runs."""
    runs: int = 1
    symbols_discussed: list[str] = field(default_factory=list)
    last_actions: dict[str, str] = field(default_factory=dict)


@dataclass
class ConversationMemory:
    """Carried from one run to the next: the summary, recent messages, unanswered messages."""

    summary: ConversationSummary
    recent: list[ChatMessage] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    end_requested: bool = False


@dataclass
class LongRunningAgentInput(AgentInput):
    """Advise on ``symbol`` (and any ``$TICKER`` a message names) until ``end``.

    Continues as new after ``max_messages_per_run`` answers (or when Temporal suggests it).
    ``idle_timeout_seconds`` ends a quiet conversation; None waits for ever.
    """

    max_messages_per_run: int = 50
    idle_timeout_seconds: float | None = None
    memory: ConversationMemory | None = None


@dataclass
class ConversationView:
    """The ``conversation`` query: messages of this run (recent ones carried in) and totals."""

    messages: list[ChatMessage]
    summary: ConversationSummary
    pending: int
    ended: bool


@dataclass
class LongRunningAgentResult:
    """How the conversation ended."""

    symbol: str
    summary: ConversationSummary
    messages: list[ChatMessage]
    reason: str


@workflow.defn
class LongRunningAgentWorkflow:
    """A conversational trading advisor kept across signals, continuing as new."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._messages: list[ChatMessage] = []
        self._summary = ConversationSummary()
        self._end_requested = False
        self._ended = False

    @workflow.signal
    def send_message(self, text: str) -> None:
        """A user message; answered in order."""
        self._pending.append(text)

    @workflow.signal
    def end(self) -> None:
        """Finish after answering the messages already received."""
        self._end_requested = True

    @workflow.query
    def conversation(self) -> ConversationView:
        """The conversation so far."""
        return ConversationView(
            list(self._messages), self._summary, len(self._pending), self._ended
        )

    @workflow.run
    async def run(self, request: LongRunningAgentInput) -> LongRunningAgentResult:
        if request.max_messages_per_run < 1:
            raise invalid_input(
                f"max_messages_per_run={request.max_messages_per_run!r}; use at least 1"
            )
        if request.memory is not None:
            memory = request.memory
            self._summary = memory.summary
            self._summary.runs += 1
            self._messages = list(memory.recent)
            # Signals already received in this run queue up behind the carried ones.
            self._pending = [*memory.pending, *self._pending]
            self._end_requested = self._end_requested or memory.end_requested
        answered = 0
        reason = "ended by the user"
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._pending) or self._end_requested,
                    timeout=(
                        timedelta(seconds=request.idle_timeout_seconds)
                        if request.idle_timeout_seconds
                        else None
                    ),
                )
            except asyncio.TimeoutError:
                reason = f"idle for {request.idle_timeout_seconds:g} s"
                break
            if not self._pending:
                break  # end requested and nothing left to answer
            await self._answer(request, self._pending.pop(0))
            answered += 1
            finished = self._end_requested and not self._pending
            if not finished and (
                answered >= request.max_messages_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                await self._continue_as_new(request)
        self._ended = True
        return LongRunningAgentResult(request.symbol, self._summary, list(self._messages), reason)

    async def _answer(self, request: LongRunningAgentInput, text: str) -> None:
        await self._reply(request, text)
        # Counted once answered, so the count tells a caller its message was handled.
        self._summary.total_messages += 1

    async def _reply(self, request: LongRunningAgentInput, text: str) -> None:
        symbol = _symbol_in(text) or self._current_symbol(request)
        self._messages.append(ChatMessage("user", text, symbol))
        if symbol not in self._summary.symbols_discussed:
            self._summary.symbols_discussed.append(symbol)
        notes = [f"{m.role}: {m.text}" for m in self._messages[-RECENT_MESSAGES:]]
        context = request.agent_context(request.as_of or workflow.now(), symbol=symbol, notes=notes)
        try:
            decision: AgentDecision = await workflow.execute_activity_method(
                Agents.reasoning_agent, context, **_options(request)
            )
        except ActivityError as error:  # a bad question must not end the conversation
            self._messages.append(
                ChatMessage(
                    "agent", f"I could not look at {symbol}: {error_message(error)}", symbol
                )
            )
            return
        why = decision.rationale[-1] if decision.rationale else ""
        reply = (
            f"{symbol}: {decision.action.value} {decision.quantity} "
            f"(confidence {decision.confidence:.0%}); {why}"
        )
        self._messages.append(ChatMessage("agent", reply, symbol, decision.action))
        self._summary.last_actions[symbol] = decision.action.value

    def _current_symbol(self, request: LongRunningAgentInput) -> str:
        for message in reversed(self._messages):
            if message.symbol:
                return message.symbol
        return request.symbol.upper()

    async def _continue_as_new(self, request: LongRunningAgentInput) -> None:
        # Signal handlers are synchronous, but wait anyway: a future async one must not be cut.
        await workflow.wait_condition(workflow.all_handlers_finished)
        memory = ConversationMemory(
            summary=self._summary,
            recent=self._messages[-RECENT_MESSAGES:],
            pending=list(self._pending),
            end_requested=self._end_requested,
        )
        workflow.continue_as_new(replace(request, memory=memory))


def _symbol_in(text: str) -> str | None:
    """The first ``$ticker`` in ``text``, else its first upper-case word that looks like one."""
    for match in _TICKER.finditer(text):
        dollar, bare = match.groups()
        if dollar:
            return dollar.upper()
        if bare not in _NOT_TICKERS:
            return bare
    return None


# --------------------------------------------------------------------------- orchestration

ORCHESTRATED_AGENTS = ["research", "analysis", "risk", "planning", "action"]


@dataclass
class AgentStatus:
    """One agent on the orchestrator's board."""

    agent: str
    state: str = "waiting"  # waiting, running, done, skipped, failed
    detail: str = ""


@dataclass
class MultiAgentInput(ActingAgentInput):
    """Have the orchestrated agents research, analyse, assess, plan and trade ``symbol``."""

    risk_threshold: float = RISK_THRESHOLD


@dataclass
class MultiAgentResult:
    """Every agent's report and the board as it ended."""

    symbol: str
    status: ExecutionStatus
    agents: list[AgentStatus]
    research: ResearchReport
    analysis: AnalysisReport
    risk: RiskAssessment
    plan: TradingPlan | None
    execution: TradeExecution


@workflow.defn
class MultiAgentOrchestrationWorkflow:
    """Research and analysis in parallel, then risk, planning and action: a dependency graph
    of agents, with a status board (``get_agent_statuses``)."""

    def __init__(self) -> None:
        self._board = {name: AgentStatus(name) for name in ORCHESTRATED_AGENTS}

    @workflow.query
    def get_agent_statuses(self) -> list[AgentStatus]:
        """Each agent's state, in pipeline order."""
        return [self._board[name] for name in ORCHESTRATED_AGENTS]

    @workflow.run
    async def run(self, request: MultiAgentInput) -> MultiAgentResult:
        check_threshold(request.risk_threshold)
        context = request.agent_context(request.as_of or workflow.now())
        market = _options(request, market=True)
        research, analysis = await asyncio.gather(
            self._agent("research", Agents.research_agent, context, market),
            self._agent("analysis", Agents.analysis_agent, context, market),
        )
        self._done("research", research.summary)
        self._done("analysis", f"{analysis.signal.value} ({analysis.confidence:.2f})")
        context.research, context.analysis = research, analysis

        assessed: RiskAssessment = await self._agent(
            "risk", Agents.risk_agent, context, _options(request)
        )
        risk = context.risk = apply_threshold(assessed, request.risk_threshold)
        self._done("risk", f"score {risk.risk_score:.2f}, max {risk.max_position_size} shares")
        plan: TradingPlan | None = None
        if risk.risk_score > request.risk_threshold:
            execution = skipped(request.symbol, risk_too_high(risk))
            self._skip("planning", execution.reason)
        else:
            plan = await self._agent("planning", Agents.planning_agent, context, _options(request))
            self._done("planning", f"{plan.signal.value} {plan.quantity} @ {plan.entry_price}")
            if not plan.approved:
                execution = skipped(request.symbol, f"the plan is to {plan.signal.value}")
            elif not request.execute:
                execution = skipped(request.symbol, f"not executed: {plan.signal.value}")
            else:
                decision = AgentDecision(
                    "planning",
                    request.symbol,
                    plan.signal,
                    plan.quantity,
                    analysis.confidence,
                    plan.rationale,
                )
                self._board["action"].state = "running"
                execution = await _act(request, decision, plan.entry_price)
                self._done("action", f"{execution.status.value} {execution.quantity}")
        if self._board["action"].state == "waiting":
            self._skip("action", execution.reason)
        return MultiAgentResult(
            request.symbol,
            execution.status,
            self.get_agent_statuses(),
            research,
            analysis,
            risk,
            plan,
            execution,
        )

    async def _agent(
        self, name: str, method: Any, context: AgentContext, options: dict[str, Any]
    ) -> Any:
        self._board[name].state = "running"
        try:
            return await workflow.execute_activity_method(
                method, context, summary=f"{name} agent", **options
            )
        except Exception as error:
            self._board[name] = AgentStatus(name, "failed", error_message(error))
            raise

    def _done(self, name: str, detail: str) -> None:
        self._board[name] = AgentStatus(name, "done", detail)

    def _skip(self, name: str, detail: str) -> None:
        self._board[name] = AgentStatus(name, "skipped", detail)


# --------------------------------------------------------------------------- AI agent


@dataclass
class AIAgentInput(ActingAgentInput):
    """Let the reasoning agent decide on ``symbol`` and the action agent carry it out.

    The reasoner may be a language model: ``reasoning_timeout_seconds`` bounds one call and
    ``retry`` retries it (timeouts, rate limits, malformed answers).
    """

    max_quantity: int | None = None
    reasoning_timeout_seconds: float = 60.0


@dataclass
class AIAgentResult:
    """The decision, who made it, and what the action agent did."""

    symbol: str
    decision: AgentDecision
    status: ExecutionStatus
    execution: TradeExecution


@workflow.defn
class AIAgentWorkflow:
    """Reason, then act: each step an activity with its own timeout and retries."""

    @workflow.run
    async def run(self, request: AIAgentInput) -> AIAgentResult:
        if request.max_quantity is not None and request.max_quantity < 1:
            raise invalid_input(f"max_quantity={request.max_quantity!r}; give at least 1 or None")
        context = request.agent_context(request.as_of or workflow.now())
        analysis: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent, context, **_options(request, market=True)
        )
        context.analysis = analysis
        decision: AgentDecision = await workflow.execute_activity_method(
            Agents.reasoning_agent,
            context,
            summary="reasoning agent",
            **{
                **_options(request),
                "start_to_close_timeout": timedelta(seconds=request.reasoning_timeout_seconds),
            },
        )
        if request.max_quantity is not None and decision.quantity > request.max_quantity:
            decision.quantity = request.max_quantity
            decision.rationale.append(f"capped at max_quantity={request.max_quantity}")
        if decision.action is Signal.HOLD or decision.quantity < 1:
            execution = skipped(
                request.symbol,
                f"the {decision.reasoner} reasoner decided {decision.action.value} "
                f"{decision.quantity}",
            )
        else:
            execution = await _act(request, decision, analysis.indicators.last_price)
        return AIAgentResult(request.symbol, decision, execution.status, execution)


WORKFLOWS: list[type] = [
    CollaborativeAgentsWorkflow,
    AdaptiveAgentWorkflow,
    LongRunningAgentWorkflow,
    MultiAgentOrchestrationWorkflow,
    AIAgentWorkflow,
]

__all__ = [
    "ADAPTATION_ORDER",
    "MAX_ITERATIONS",
    "STRATEGY_AGENTS",
    "WORKFLOWS",
    "AIAgentInput",
    "AIAgentResult",
    "AIAgentWorkflow",
    "AdaptiveAgentInput",
    "AdaptiveAgentResult",
    "AdaptiveAgentWorkflow",
    "AdaptiveIteration",
    "AgentStatus",
    "ChatMessage",
    "CollaborativeAgentsInput",
    "CollaborativeAgentsResult",
    "CollaborativeAgentsWorkflow",
    "ConversationMemory",
    "ConversationSummary",
    "ConversationView",
    "LongRunningAgentInput",
    "LongRunningAgentResult",
    "LongRunningAgentWorkflow",
    "MultiAgentInput",
    "MultiAgentOrchestrationWorkflow",
    "MultiAgentResult",
]
