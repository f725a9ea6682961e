"""A trade that waits for a human's approval, given as a Temporal update (docs/how-to/updates.md).

An update, unlike a signal, answers the caller, and its validator can refuse it before
anything is written to the history: the approver learns at once that they may not approve.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

APPROVERS = ("risk-desk", "head-of-trading")


@dataclass
class Trade:
    symbol: str
    quantity: int


@dataclass
class Approval:
    approver: str
    limit: int  # the most shares this approval covers


@workflow.defn
class TradeApproval:
    """Proposes a trade, waits up to a day for an approval that covers it, then places it
    half an hour later."""

    @workflow.init
    def __init__(self, trade: Trade) -> None:
        # In __init__, not run(): an update-with-start is validated before run() begins.
        self.trade = trade
        self.proposed_at: datetime = workflow.now()
        self.approval: Approval | None = None
        self.approved_at: datetime | None = None

    @workflow.run
    async def run(self, trade: Trade) -> str:
        try:
            await workflow.wait_condition(lambda: self.approval is not None, timeout=timedelta(days=1))
        except asyncio.TimeoutError:
            return f"{trade.quantity} {trade.symbol}: expired unapproved"
        assert self.approval is not None and self.approved_at is not None
        await workflow.sleep(timedelta(minutes=30))  # the order goes out half an hour later
        hours = (self.approved_at - self.proposed_at).total_seconds() / 3600
        return f"{trade.quantity} {trade.symbol}: approved by {self.approval.approver} after {hours:.1f}h"

    @workflow.update
    def approve(self, approval: Approval) -> str:
        if self.approval is not None:
            # Accepted by the validator, failed by the handler: the caller sees this error.
            raise ApplicationError(f"already approved by {self.approval.approver}")
        self.approval, self.approved_at = approval, workflow.now()
        return f"approved {self.trade.quantity} {self.trade.symbol} at {workflow.now():%Y-%m-%d %H:%M}"

    @approve.validator
    def check_approval(self, approval: Approval) -> None:
        if approval.approver not in APPROVERS:
            raise ValueError(f"{approval.approver!r} may not approve trades")
        if approval.limit < self.trade.quantity:
            raise ValueError(f"a limit of {approval.limit} does not cover {self.trade.quantity} shares")

    @workflow.query
    def status(self) -> str:
        return "approved" if self.approval else "awaiting approval"
