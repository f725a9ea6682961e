"""Tiny workflows whose histories the canary records, and the changed code it replays them on.

Each recorded workflow has variants registered under the same workflow name that issue a
different command at the same point, so that replaying the recorded history against a
variant makes the core report a real nondeterminism error in its own words.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

#: One attempt of ten seconds: an SDK change that breaks the worker fails the run at once
#: rather than retrying for ever.
ONCE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_attempts=1),
}


@dataclass
class Order:
    symbol: str
    quantity: int


@activity.defn
async def canary_buy(order: Order) -> str:
    return f"bought {order.quantity} {order.symbol}"


@activity.defn
async def canary_sell(order: Order) -> str:
    return f"sold {order.quantity} {order.symbol}"


ORDER = Order("AAPL", 1)


# -- one activity ----------------------------------------------------------------------------
@workflow.defn(name="CanaryBuy")
class BuyWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(canary_buy, ORDER, activity_id="buy-1", **ONCE)


@workflow.defn(name="CanaryBuy")
class SellsInstead:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(canary_sell, ORDER, activity_id="buy-1", **ONCE)


@workflow.defn(name="CanaryBuy")
class OtherActivityId:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(canary_buy, ORDER, activity_id="buy-2", **ONCE)


@workflow.defn(name="CanaryBuy")
class SleepsInstead:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(5)
        return "slept"


@workflow.defn(name="CanaryBuy")
class ReturnsAtOnce:
    @workflow.run
    async def run(self) -> str:
        return "nothing bought"


@workflow.defn(name="CanaryBuy")
class WaitsForever:
    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "never"


@workflow.defn(name="CanaryBuy")
class RaisesOnReplay:
    @workflow.run
    async def run(self) -> str:
        raise KeyError("raised by the canary on replay")


# -- one local activity ----------------------------------------------------------------------
@workflow.defn(name="CanaryLocalBuy")
class LocalBuyWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_local_activity(
            canary_buy, ORDER, activity_id="local-1", **ONCE
        )


@workflow.defn(name="CanaryLocalBuy")
class LocalSellsInstead:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_local_activity(
            canary_sell, ORDER, activity_id="local-1", **ONCE
        )


# -- a patch ---------------------------------------------------------------------------------
PATCH = "canary-change"


@workflow.defn(name="CanaryPatched")
class PatchedWorkflow:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched(PATCH):
            return await workflow.execute_activity(canary_sell, ORDER, **ONCE)
        return await workflow.execute_activity(canary_buy, ORDER, **ONCE)


@workflow.defn(name="CanaryPatched")
class PatchRemoved:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(canary_sell, ORDER, **ONCE)


# -- a child workflow ------------------------------------------------------------------------
@workflow.defn(name="CanaryChild")
class ChildWorkflow:
    @workflow.run
    async def run(self, order: Order) -> str:
        return order.symbol


@workflow.defn(name="CanaryOtherChild")
class OtherChildWorkflow:
    @workflow.run
    async def run(self, order: Order) -> str:
        return order.symbol


@workflow.defn(name="CanaryParent")
class ParentWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(ChildWorkflow.run, ORDER, id="child-1")


@workflow.defn(name="CanaryParent")
class OtherChildType:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(OtherChildWorkflow.run, ORDER, id="child-1")


@workflow.defn(name="CanaryParent")
class OtherChildId:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(ChildWorkflow.run, ORDER, id="child-2")


# -- a worker running a redefined activity ---------------------------------------------------
@workflow.defn(name="CanaryRedefined")
class RedefinedWorkflow:
    """Calls ``canary_buy`` by name: whatever the worker registered under it answers."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity("canary_buy", ORDER, result_type=str, **ONCE)


@workflow.defn(name="CanaryApproval")
class ApprovalWorkflow:
    """Never run: its signal and query definitions are read by the internals table."""

    def __init__(self) -> None:
        self.approved_by = ""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: bool(self.approved_by))
        return self.approved_by

    @workflow.signal(name="canary-approve")
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query(name="canary-status")
    def status(self) -> str:
        return "approved" if self.approved_by else "pending"

    @workflow.update(name="canary-grant")
    def grant(self, by: str) -> int:
        self.approved_by = by
        return len(by)


@workflow.defn(name="CanarySleeper")
class SleeperWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=1))
        return "woke"


RECORDED = [BuyWorkflow, LocalBuyWorkflow, PatchedWorkflow, ParentWorkflow, ChildWorkflow]



@activity.defn
async def canary_wait() -> str:
    await asyncio.sleep(60)  # cancelled when its worker stops
    return "waited"


@workflow.defn(name="CanaryWait")
class WaitingActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(canary_wait, start_to_close_timeout=timedelta(minutes=1))
