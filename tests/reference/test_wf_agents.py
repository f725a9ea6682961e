"""Collaborative, adaptive, long-running, orchestrated and AI agent workflows, on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from reference_fixtures import (
    AGENT_RETRY,
    AS_OF,
    UNTIL_BACK_UP,
    TradingDesk,
    pinned_inputs,
    until_retrying,
)
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents.servers._settle import task_in_flight
from reference_workflows.agents import RuleBasedReasoner
from reference_workflows.models import (
    AgentContext,
    AgentDecision,
    ExecuteTradeRequest,
    ExecutionStatus,
    Side,
    Signal,
    Strategy,
)
from reference_workflows.workflows.agents import (
    AdaptiveAgentInput,
    AdaptiveAgentWorkflow,
    AIAgentInput,
    AIAgentWorkflow,
    CollaborativeAgentsInput,
    CollaborativeAgentsWorkflow,
    ConversationView,
    LongRunningAgentInput,
    LongRunningAgentWorkflow,
    MultiAgentInput,
    MultiAgentOrchestrationWorkflow,
)
from reference_workflows.workflows.agents import _symbol_in as symbol_in
from reference_workflows.workflows.trading import INVALID_WORKFLOW_INPUT

#: Each pattern's inputs, pinned to ``AS_OF``, with the agents' retries.
collaborative = pinned_inputs(CollaborativeAgentsInput, retry=AGENT_RETRY)
adaptive = pinned_inputs(AdaptiveAgentInput, retry=AGENT_RETRY)
conversation = pinned_inputs(LongRunningAgentInput, retry=AGENT_RETRY)
orchestration = pinned_inputs(MultiAgentInput, retry=AGENT_RETRY)
ai_agent = pinned_inputs(AIAgentInput, retry=AGENT_RETRY)

# ------------------------------------------------------------------ collaborative


async def test_collaborative_agents_vote_and_the_consensus_is_traded(desk: TradingDesk) -> None:
    result = await desk.run(CollaborativeAgentsWorkflow.run, collaborative("AAPL"))

    assert [(s.strategy, s.signal) for s in result.signals] == [
        (Strategy.MOMENTUM, Signal.BUY),
        (Strategy.TREND_FOLLOWING, Signal.BUY),
        (Strategy.MEAN_REVERSION, Signal.HOLD),
        (Strategy.ADAPTIVE, Signal.BUY),
    ]
    assert result.consensus.action is Signal.BUY and result.consensus.agreement > 0.5
    assert result.status is ExecutionStatus.FILLED
    assert result.execution.quantity == result.consensus.quantity
    assert result.consensus.quantity <= result.risk.max_position_size
    [fill] = desk.broker.fills()
    assert (fill.side, fill.quantity, fill.price) == (
        Side.BUY,
        result.consensus.quantity,
        result.analysis.indicators.last_price,
    )
    names = (await desk.history()).activity_names()
    # Research and analysis side by side, then risk, then the voters, then the coordinator.
    assert sorted(names[:2]) == ["analysis_agent", "research_agent"]
    assert names[2] == "risk_agent"
    assert names[-2:] == ["coordinator_agent", "action_agent"]


async def test_a_sell_consensus_sells_shares_the_account_holds(desk: TradingDesk) -> None:
    desk.broker.ledger.execute_trade(
        ExecuteTradeRequest("paper", "KO", Side.BUY, 200, "seed-position", price=60.0)
    )

    result = await desk.run(CollaborativeAgentsWorkflow.run, collaborative("KO"))

    assert result.consensus.action is Signal.SELL
    assert result.status is ExecutionStatus.FILLED and result.execution.side is Side.SELL
    [position] = desk.broker.snapshot().positions
    assert position.quantity == 200 - result.execution.quantity


# ------------------------------------------------------------------ adaptive


async def test_adaptive_agent_adapts_its_strategy_until_confident_then_trades(
    desk: TradingDesk,
) -> None:
    # TSLA: trend following finds nothing to ride; a day later mean reversion is sure.
    result = await desk.run(
        AdaptiveAgentWorkflow.run, adaptive("TSLA", strategy=Strategy.TREND_FOLLOWING)
    )

    assert [(i.strategy, i.action) for i in result.iterations] == [
        (Strategy.TREND_FOLLOWING, Signal.HOLD),
        (Strategy.MEAN_REVERSION, Signal.BUY),
    ]
    assert [i.as_of for i in result.iterations] == [AS_OF, AS_OF + timedelta(days=1)]
    assert result.converged and result.decision.confidence >= 0.75
    assert result.status is ExecutionStatus.FILLED
    [fill] = desk.broker.fills()
    assert (fill.quantity, fill.price) == (result.decision.quantity, result.iterations[-1].price)
    history = await desk.history()
    assert [(t.duration, t.status) for t in history.timers()] == [(timedelta(days=1), "fired")]


async def test_adaptive_agent_stops_after_max_iterations_without_trading(
    desk: TradingDesk,
) -> None:
    # DIS never gets past 0.71 confidence.
    handle = await desk.start(AdaptiveAgentWorkflow.run, adaptive("DIS", max_iterations=3))
    result = await handle.result()

    assert not result.converged and len(result.iterations) == 3
    assert [i.strategy for i in result.iterations] == [
        Strategy.ADAPTIVE,
        Strategy.TREND_FOLLOWING,
        Strategy.MEAN_REVERSION,
    ]
    assert result.status is ExecutionStatus.SKIPPED
    assert "in 3 iterations" in result.execution.reason
    assert await handle.query(AdaptiveAgentWorkflow.get_iterations) == result.iterations
    timers = (await desk.history(handle)).timers()
    assert [t.duration for t in timers] == [timedelta(days=1)] * 2  # time skipped, not waited
    assert desk.broker.orders() == []


async def test_adaptive_agent_refuses_an_unbounded_loop(desk: TradingDesk) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(AdaptiveAgentWorkflow.run, AdaptiveAgentInput("AAPL", max_iterations=1000))

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == INVALID_WORKFLOW_INPUT
    assert "max_iterations=1000" in str(failure.value.cause)


# ------------------------------------------------------------------ long-running


async def idle(handle: WorkflowHandle[object, object]) -> None:
    """Wait until the agent waits for its next message: no workflow task, no activity.

    The time-skipping test server loses a query that meets a workflow task ending the run
    (this agent continues as new after an answer), and the lost query stops its clock. The
    harness holds a query back while a task is in flight, but an answer's activity can
    complete between that check and the query; once the agent is idle, nothing can.
    """
    for _ in range(500):
        latest = await handle.fetch_history()
        if not task_in_flight(latest.events):
            description = await handle.describe()
            if not description.raw_description.pending_activities:
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the agent never became idle")


async def until(
    handle: WorkflowHandle[object, object], predicate: Callable[[ConversationView], bool]
) -> ConversationView:
    """Query the idle conversation until ``predicate`` holds (real time, bounded)."""
    for _ in range(500):
        await idle(handle)
        view = await handle.query(LongRunningAgentWorkflow.conversation)
        if predicate(view):
            return view
        await asyncio.sleep(0.01)
    raise AssertionError(f"the conversation never got there; last view: {view}")


async def test_long_running_agent_keeps_the_conversation_across_continue_as_new(
    desk: TradingDesk,
) -> None:
    handle = await desk.start(
        LongRunningAgentWorkflow.run, conversation("AAPL", max_messages_per_run=2)
    )
    first_run = handle.first_execution_run_id

    await handle.signal(LongRunningAgentWorkflow.send_message, "How does AAPL look?")
    view = await until(handle, lambda v: v.summary.total_messages == 1 and v.pending == 0)
    # Mid-run, while the agent waits for the next message.
    assert [(m.role, m.symbol) for m in view.messages] == [("user", "AAPL"), ("agent", "AAPL")]
    assert view.messages[1].action is Signal.BUY and view.summary.runs == 1
    assert not view.ended

    await handle.signal(LongRunningAgentWorkflow.send_message, "And $TSLA?")
    await handle.signal(LongRunningAgentWorkflow.send_message, "what about it a day later?")
    view = await until(handle, lambda v: v.summary.total_messages == 3 and v.pending == 0)

    # Two answers per run: the third message was answered by a second run...
    assert view.summary.runs == 2
    # ...which still knows the whole conversation.
    assert [m.text for m in view.messages if m.role == "user"] == [
        "How does AAPL look?",
        "And $TSLA?",
        "what about it a day later?",
    ]
    assert view.messages[-1].symbol == "TSLA"  # no ticker named: the one under discussion
    assert view.summary.symbols_discussed == ["AAPL", "TSLA"]
    assert set(view.summary.last_actions) == {"AAPL", "TSLA"}

    await handle.signal(LongRunningAgentWorkflow.end)
    result = await handle.result()

    assert result.reason == "ended by the user"
    assert result.summary.total_messages == 3 and result.summary.runs == 2
    first = await desk.temporal.history(handle.id, run_id=first_run)
    assert first.status == "continued_as_new"
    assert first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(first.signals("send_message")) >= 2
    assert first.activity_names() == ["reasoning_agent", "reasoning_agent"]
    latest = await desk.history(handle.id)
    assert latest.status == "completed" and latest.signals("end")


async def test_long_running_agent_ends_when_idle(desk: TradingDesk) -> None:
    result = await desk.run(
        LongRunningAgentWorkflow.run,
        LongRunningAgentInput("AAPL", idle_timeout_seconds=3600, as_of=AS_OF),
    )

    assert result.reason == "idle for 3600 s"
    assert result.summary.total_messages == 0 and result.messages == []


def test_messages_name_symbols_with_a_dollar_or_in_capitals() -> None:
    assert symbol_in("How does AAPL look?") == "AAPL"
    assert symbol_in("thoughts on $brk.b today") == "BRK.B"
    assert symbol_in("OK, what now") is None
    assert symbol_in("is it a BUY or a SELL on MSFT") == "MSFT"


# ------------------------------------------------------------------ multi-agent


async def test_orchestrator_runs_every_agent_and_shows_the_board_mid_run(
    desk: TradingDesk,
) -> None:
    desk.market.set_exchange_down("NYSE")
    handle = await desk.start(
        MultiAgentOrchestrationWorkflow.run, orchestration("AAPL", retry=UNTIL_BACK_UP)
    )
    await until_retrying(handle, count=2)  # both market agents failed once and are retrying

    board = await handle.query(MultiAgentOrchestrationWorkflow.get_agent_statuses)
    assert [(s.agent, s.state) for s in board] == [
        ("research", "running"),
        ("analysis", "running"),
        ("risk", "waiting"),
        ("planning", "waiting"),
        ("action", "waiting"),
    ]

    desk.market.set_exchange_down("NYSE", down=False)
    result = await handle.result()

    assert result.status is ExecutionStatus.FILLED
    assert [s.state for s in result.agents] == ["done"] * 5
    assert result.plan is not None and result.execution.quantity == result.plan.quantity
    assert [f.quantity for f in desk.broker.fills()] == [result.plan.quantity]


async def test_orchestrator_skips_planning_and_action_above_the_risk_threshold(
    desk: TradingDesk,
) -> None:
    result = await desk.run(
        MultiAgentOrchestrationWorkflow.run, orchestration("TSLA", strategy=Strategy.MOMENTUM)
    )

    assert result.risk.risk_score > 0.7 and result.status is ExecutionStatus.SKIPPED
    assert [(s.agent, s.state) for s in result.agents][2:] == [
        ("risk", "done"),
        ("planning", "skipped"),
        ("action", "skipped"),
    ]
    assert result.plan is None and desk.broker.orders() == []


# ------------------------------------------------------------------ AI agent


class FlakyReasoner(RuleBasedReasoner):
    """A stand-in for a model endpoint that times out on its first ``failures`` calls."""

    name = "flaky-model"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def decide(self, context: AgentContext) -> AgentDecision:
        self.calls += 1
        if self.calls <= self.failures:
            raise TimeoutError(f"the model did not answer (call {self.calls})")
        return super().decide(context)


async def test_ai_agent_retries_the_reasoner_then_acts_once(
    make_desk: Callable[..., TradingDesk],
) -> None:
    reasoner = FlakyReasoner(failures=2)
    desk = make_desk(reasoner=reasoner)

    result = await desk.run(AIAgentWorkflow.run, ai_agent("AAPL"))

    assert reasoner.calls == 3
    assert result.decision.reasoner == "flaky-model" and result.decision.action is Signal.BUY
    assert result.status is ExecutionStatus.FILLED
    assert [f.quantity for f in desk.broker.fills()] == [result.decision.quantity]
    history = await desk.history()
    [reasoning] = history.activities("reasoning_agent")
    assert (reasoning.status, reasoning.attempt) == ("completed", 3)
    assert history.activity_names() == ["analysis_agent", "reasoning_agent", "action_agent"]


async def test_ai_agent_fails_without_acting_when_the_reasoner_never_answers(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(reasoner=FlakyReasoner(failures=100))

    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(AIAgentWorkflow.run, ai_agent("AAPL"))

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TimeoutError"
    assert "the model did not answer (call 3)" in str(cause)
    assert desk.broker.orders() == []


async def test_ai_agent_caps_the_quantity_and_can_hold(desk: TradingDesk) -> None:
    capped = await desk.run(AIAgentWorkflow.run, ai_agent("AAPL", max_quantity=2))
    assert (
        capped.execution.quantity == 2 and "capped at max_quantity=2" in capped.decision.rationale
    )

    hold = await desk.run(AIAgentWorkflow.run, ai_agent("MSFT"))
    assert hold.decision.action is Signal.HOLD and hold.status is ExecutionStatus.SKIPPED
    assert [f.quantity for f in desk.broker.fills()] == [2]
