"""Human approval through an update with a validator (docs/how-to/updates.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from trade_approval import Approval, Trade, TradeApproval

from pytest_temporal_agents import DelayedCallError, TemporalHarness


async def test_the_risk_desk_approves_five_hours_in(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("AAPL", 200))
    approval = await temporal.update_after(
        handle, TradeApproval.approve, Approval("risk-desk", limit=500), after=timedelta(hours=5)
    )

    assert await handle.result() == "200 AAPL: approved by risk-desk after 5.0h"
    assert (await approval.result()).startswith("approved 200 AAPL at ")


async def test_the_validator_turns_an_intern_away(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("TSLA", 50))
    intern = await temporal.update_after(
        handle, TradeApproval.approve, Approval("intern", limit=50), after=timedelta(hours=1)
    )

    assert await handle.result() == "50 TSLA: expired unapproved"  # a day later
    with pytest.raises(DelayedCallError, match="rejected by its validator.*'intern' may not approve"):
        await intern.result()


async def test_propose_and_approve_in_one_call(temporal: TemporalHarness) -> None:
    async with temporal.worker(workflows=[TradeApproval]):
        proposal = WithStartWorkflowOperation(
            TradeApproval.run,
            Trade("MSFT", 10),
            id=temporal.new_workflow_id("approval"),
            task_queue=temporal.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        answer = await temporal.client.execute_update_with_start_workflow(
            TradeApproval.approve, Approval("head-of-trading", limit=10), start_workflow_operation=proposal
        )
        handle = await proposal.workflow_handle()

        assert answer.startswith("approved 10 MSFT")
        assert await temporal.result(handle) == "10 MSFT: approved by head-of-trading after 0.0h"
