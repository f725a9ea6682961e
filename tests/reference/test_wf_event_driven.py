"""The approval workflow on a real server: approved, rejected, timed out, and the query mid-run.

The hour-long approval window is a workflow timer: awaiting the result lets the time-skipping
server jump to its end, so the timeout path costs no real waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from reference_fixtures import (
    STARTING_CASH,
    TradingDesk,
    invalid_input_messages,
    pinned_inputs,
    wait_for_query,
)
from temporalio import activity
from temporalio.client import WorkflowHandle

from reference_workflows.broker import PaperBroker
from reference_workflows.models import ExecuteTradeRequest, ExecutionStatus, Side, TradeExecution
from reference_workflows.workflows.event_driven import (
    ApprovalDecision,
    ApprovalOutcome,
    PendingDecision,
    TradeApprovalInput,
    TradeApprovalResult,
    TradeApprovalWorkflow,
)

approval = pinned_inputs(TradeApprovalInput, "AAPL")


async def pending(handle: WorkflowHandle[object, object]) -> PendingDecision:
    answer: PendingDecision = await wait_for_query(handle, TradeApprovalWorkflow.pending_decision)
    return answer


async def test_an_approved_trade_fills_at_the_price_the_approver_saw(desk: TradingDesk) -> None:
    handle = await desk.start(TradeApprovalWorkflow.run, approval(quantity=8))

    proposal = await pending(handle)
    assert (proposal.symbol, proposal.side, proposal.quantity) == ("AAPL", Side.BUY, 8)
    assert proposal.notional == pytest.approx(8 * proposal.price)
    assert proposal.expires_at - proposal.requested_at == timedelta(hours=1)
    assert desk.broker.fills() == []  # nothing traded while it waits
    await handle.signal(TradeApprovalWorkflow.approve, ApprovalDecision(True, "risk desk", "ok"))
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.APPROVED
    assert result.decision == ApprovalDecision(True, "risk desk", "ok")
    assert result.proposal == proposal
    assert result.execution.status is ExecutionStatus.FILLED
    [fill] = desk.broker.fills()
    assert (fill.quantity, fill.price) == (8, proposal.price)
    assert await handle.query(TradeApprovalWorkflow.pending_decision) is None
    [signal] = (await desk.history(handle)).signals()
    assert signal.name == "approve"


async def test_a_rejected_trade_trades_nothing(desk: TradingDesk) -> None:
    handle = await desk.start(TradeApprovalWorkflow.run, approval())
    await pending(handle)

    await handle.signal(
        TradeApprovalWorkflow.approve, ApprovalDecision(False, "risk desk", "too concentrated")
    )
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.REJECTED
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "rejected by risk desk: too concentrated"
    assert desk.broker.fills() == [] and desk.broker.snapshot().cash == STARTING_CASH
    assert (await desk.history(handle)).activity_names() == ["get_quote"]


async def test_no_decision_within_the_window_times_out_in_workflow_time(desk: TradingDesk) -> None:
    before = await desk.temporal.now()
    handle = await desk.start(TradeApprovalWorkflow.run, approval())
    assert await pending(handle) is not None  # waiting, mid-run

    result: TradeApprovalResult = await handle.result()  # skips the hour

    assert result.outcome is ApprovalOutcome.TIMED_OUT and result.decision is None
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "no decision within 3600s"
    assert await desk.temporal.now() - before >= timedelta(hours=1)
    history = await desk.history(handle)
    [timer] = history.timers()
    assert (timer.duration, timer.status) == (timedelta(hours=1), "fired")
    assert desk.broker.fills() == []


async def test_an_approval_the_account_cannot_pay_for_is_rejected_by_the_broker(
    make_desk: Callable[..., TradingDesk],
) -> None:
    handle = await make_desk(starting_cash=100.0).start(TradeApprovalWorkflow.run, approval())
    await pending(handle)

    await handle.signal(TradeApprovalWorkflow.approve, ApprovalDecision(True, "ops"))
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.APPROVED
    assert result.execution.status is ExecutionStatus.REJECTED
    assert "can pay 100.00" in result.execution.reason


class GatedBroker(PaperBroker):
    """A broker whose trades wait for the test to open the gate (to hold the workflow open)."""

    def __init__(self, *args: object, **options: object) -> None:
        super().__init__(*args, **options)  # type: ignore[arg-type]
        self.gate = asyncio.Event()
        self.trading = asyncio.Event()

    @activity.defn
    async def execute_trade(self, request: ExecuteTradeRequest) -> TradeExecution:
        self.trading.set()
        await self.gate.wait()
        return await super().execute_trade(request)


async def test_the_first_decision_wins_and_later_ones_are_ignored(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(broker=GatedBroker)
    broker = desk.broker
    assert isinstance(broker, GatedBroker)
    handle = await desk.start(TradeApprovalWorkflow.run, approval())
    await pending(handle)

    await handle.signal(TradeApprovalWorkflow.approve, ApprovalDecision(True, "first"))
    await asyncio.wait_for(broker.trading.wait(), timeout=10)  # decided, now trading
    await handle.signal(TradeApprovalWorkflow.approve, ApprovalDecision(False, "second"))
    broker.gate.set()
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.APPROVED
    assert result.decision is not None and result.decision.approver == "first"
    assert result.ignored_decisions == 1
    assert result.execution.status is ExecutionStatus.FILLED


async def test_inputs_that_cannot_work_fail_at_once(desk: TradingDesk) -> None:
    messages = await invalid_input_messages(
        desk,
        TradeApprovalWorkflow.run,
        [approval(quantity=0), approval(approval_timeout_seconds=0.0)],
    )

    assert messages == [
        "quantity=0; trade at least 1 share",
        "approval_timeout_seconds=0.0 must be positive",
    ]
