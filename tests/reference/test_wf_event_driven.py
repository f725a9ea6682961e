"""The approval workflow on a real server: approved, rejected, timed out, and the query mid-run.

The hour-long approval window is a workflow timer: awaiting the result lets the time-skipping
server jump to its end, so the timeout path costs no real waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from reference_fixtures import (
    STARTING_CASH,
    invalid_input_messages,
    pinned,
    snippet_problems,
    wait_for_query,
)
from temporalio import activity
from temporalio.client import WorkflowHandle

from pytest_temporal_agents import TemporalHarness
from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.agents import Agents
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


def approval(**fields: object) -> TradeApprovalInput:
    return pinned(TradeApprovalInput, "AAPL", **fields)


async def pending(handle: WorkflowHandle[object, object]) -> PendingDecision:
    answer: PendingDecision = await wait_for_query(handle, TradeApprovalWorkflow.pending_decision)
    return answer


async def test_an_approved_trade_fills_at_the_price_the_approver_saw(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    handle = await temporal.start(
        TradeApprovalWorkflow.run, approval(quantity=8), activities=services.activities()
    )

    proposal = await pending(handle)
    assert (proposal.symbol, proposal.side, proposal.quantity) == ("AAPL", Side.BUY, 8)
    assert proposal.notional == pytest.approx(8 * proposal.price)
    assert proposal.expires_at - proposal.requested_at == timedelta(hours=1)
    assert services.broker.fills() == []  # nothing traded while it waits
    await handle.signal(TradeApprovalWorkflow.approve, ApprovalDecision(True, "risk desk", "ok"))
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.APPROVED
    assert result.decision == ApprovalDecision(True, "risk desk", "ok")
    assert result.proposal == proposal
    assert result.execution.status is ExecutionStatus.FILLED
    [fill] = services.broker.fills()
    assert (fill.quantity, fill.price) == (8, proposal.price)
    assert await handle.query(TradeApprovalWorkflow.pending_decision) is None
    [signal] = (await temporal.history(handle)).signals()
    assert signal.name == "approve"


async def test_a_rejected_trade_trades_nothing(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    handle = await temporal.start(
        TradeApprovalWorkflow.run, approval(), activities=services.activities()
    )
    await pending(handle)

    await handle.signal(
        TradeApprovalWorkflow.approve, ApprovalDecision(False, "risk desk", "too concentrated")
    )
    result: TradeApprovalResult = await handle.result()

    assert result.outcome is ApprovalOutcome.REJECTED
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "rejected by risk desk: too concentrated"
    assert services.broker.fills() == [] and services.broker.snapshot().cash == STARTING_CASH
    assert (await temporal.history(handle)).activity_names() == ["get_quote"]


async def test_no_decision_within_the_window_times_out_in_workflow_time(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    before = await temporal.now()
    handle = await temporal.start(
        TradeApprovalWorkflow.run, approval(), activities=services.activities()
    )
    assert await pending(handle) is not None  # waiting, mid-run

    result: TradeApprovalResult = await handle.result()  # skips the hour

    assert result.outcome is ApprovalOutcome.TIMED_OUT and result.decision is None
    assert result.execution.status is ExecutionStatus.SKIPPED
    assert result.execution.reason == "no decision within 3600s"
    assert await temporal.now() - before >= timedelta(hours=1)
    history = await temporal.history(handle)
    [timer] = history.timers()
    assert (timer.duration, timer.status) == (timedelta(hours=1), "fired")
    assert services.broker.fills() == []


async def test_an_approval_the_account_cannot_pay_for_is_rejected_by_the_broker(
    temporal: TemporalHarness, make_services: Callable[..., ReferenceServices]
) -> None:
    services = make_services(starting_cash=100.0)
    handle = await temporal.start(
        TradeApprovalWorkflow.run, approval(), activities=services.activities()
    )
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
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    base = create_services(ledger_path=path)
    broker = GatedBroker(path)
    services = ReferenceServices(base.market, broker, Agents(market=base.market, broker=broker))
    handle = await temporal.start(
        TradeApprovalWorkflow.run, approval(), activities=services.activities()
    )
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


async def test_inputs_that_cannot_work_fail_at_once(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    messages = await invalid_input_messages(
        temporal,
        TradeApprovalWorkflow.run,
        [approval(quantity=0), approval(approval_timeout_seconds=0.0)],
        services.activities(),
    )

    assert messages == [
        "quantity=0; trade at least 1 share",
        "approval_timeout_seconds=0.0 must be positive",
    ]


def test_the_cookbook_page_quotes_the_real_code() -> None:
    sources = (
        "reference_workflows/workflows/event_driven.py",
        "tests/reference/test_wf_event_driven.py",
    )
    assert snippet_problems("approval.md", *sources) == []
