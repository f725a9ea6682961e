"""Event-driven: a trade waits for a human's decision, delivered as a signal, or for its deadline.

``TradeApprovalWorkflow`` prices the trade (a quote at ``as_of``), publishes it through the
``pending_decision`` query, and waits for the ``approve`` signal carrying an
``ApprovalDecision``. Approved, it trades at the price the approver saw; rejected, it trades
nothing; with no decision within ``approval_timeout_seconds`` of workflow time, it expires and
trades nothing. The wait is a durable timer: no worker is busy meanwhile, and a restart changes
nothing.

The article's version read its approval flag before any signal could have set it. Here the
decision is read only after ``wait_condition`` has seen the signal handled (or the deadline
pass), and the first decision wins: a late or repeated signal cannot change a trade already
decided (it is counted in ``ignored_decisions``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from reference_workflows.models import Side, TradeExecution
    from reference_workflows.workflows.common import OrderTermsInput, check_quantity, invalid_input
    from reference_workflows.workflows.steps import execute_once, quote_price, skipped

DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600.0


class ApprovalOutcome(str, Enum):
    """How the wait for a decision ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"


@dataclass
class ApprovalDecision:
    """The ``approve`` signal's payload: yes or no, by whom, and why."""

    approved: bool
    approver: str
    reason: str = ""


@dataclass
class TradeApprovalInput(OrderTermsInput):
    """A trade to put before an approver, who has ``approval_timeout_seconds`` to decide."""

    approval_timeout_seconds: float = DEFAULT_APPROVAL_TIMEOUT_SECONDS


@dataclass
class PendingDecision:
    """What awaits approval (the ``pending_decision`` query) and until when."""

    symbol: str
    side: Side
    quantity: int
    price: float
    notional: float
    account_id: str
    requested_at: datetime
    expires_at: datetime


@dataclass
class TradeApprovalResult:
    """The trade proposed, how the wait ended, and what was traded (SKIPPED unless approved)."""

    symbol: str
    outcome: ApprovalOutcome
    proposal: PendingDecision
    decision: ApprovalDecision | None
    execution: TradeExecution
    ignored_decisions: int = 0


@workflow.defn
class TradeApprovalWorkflow:
    """Price a trade, wait for the ``approve`` signal or the deadline, then act on it."""

    def __init__(self) -> None:
        self._pending: PendingDecision | None = None
        self._decision: ApprovalDecision | None = None
        self._ignored = 0

    @workflow.signal
    def approve(self, decision: ApprovalDecision) -> None:
        """Deliver the approver's decision; only the first one counts."""
        if self._decision is not None:
            self._ignored += 1
            workflow.logger.info("ignoring a second decision by %s", decision.approver)
            return
        self._decision = decision

    @workflow.query
    def pending_decision(self) -> PendingDecision | None:
        """The trade awaiting a decision; None before it is priced and once it is decided."""
        return self._pending

    @workflow.run
    async def run(self, request: TradeApprovalInput) -> TradeApprovalResult:
        check_quantity(request.quantity)
        if request.approval_timeout_seconds <= 0:
            raise invalid_input(
                f"approval_timeout_seconds={request.approval_timeout_seconds!r} must be positive"
            )
        options = request.activity_options()
        side = Side(request.side)
        price = await quote_price(request, side)
        timeout = timedelta(seconds=request.approval_timeout_seconds)
        requested_at = workflow.now()
        proposal = PendingDecision(
            request.symbol,
            side,
            request.quantity,
            price,
            round(price * request.quantity, 2),
            request.account_id,
            requested_at,
            requested_at + timeout,
        )
        self._pending = proposal
        try:
            await workflow.wait_condition(lambda: self._decision is not None, timeout=timeout)
        except asyncio.TimeoutError:
            pass
        self._pending = None
        # Read only now: the signal handler has run, or the deadline has passed.
        decision = self._decision
        if decision is None:
            outcome = ApprovalOutcome.TIMED_OUT
            reason = f"no decision within {request.approval_timeout_seconds:g}s"
            execution = skipped(request.symbol, reason)
        elif not decision.approved:
            outcome = ApprovalOutcome.REJECTED
            because = f": {decision.reason}" if decision.reason else ""
            execution = skipped(request.symbol, f"rejected by {decision.approver}{because}")
        else:
            outcome = ApprovalOutcome.APPROVED
            # At the price the approver saw, however long the decision took.
            execution = await execute_once(
                proposal.account_id,
                proposal.symbol,
                proposal.side,
                proposal.quantity,
                proposal.price,
                options,
            )
        return TradeApprovalResult(
            request.symbol, outcome, proposal, decision, execution, self._ignored
        )


WORKFLOWS: list[type] = [TradeApprovalWorkflow]

__all__ = [
    "DEFAULT_APPROVAL_TIMEOUT_SECONDS",
    "WORKFLOWS",
    "ApprovalDecision",
    "ApprovalOutcome",
    "PendingDecision",
    "TradeApprovalInput",
    "TradeApprovalResult",
    "TradeApprovalWorkflow",
]
