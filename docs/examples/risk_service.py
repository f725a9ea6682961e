"""A trade guarded by another team's risk service, called over Nexus (docs/how-to/nexus.md).

The risk desk runs its own Temporal service; this workflow reaches it through a Nexus
endpoint, so a test replaces it with ``temporal.mock_nexus_operation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
from temporalio import activity, workflow
from temporalio.exceptions import NexusOperationError

#: The endpoint the risk desk publishes (the name is global to the Temporal server).
RISK_ENDPOINT = "risk-desk"


@dataclass
class RiskRequest:
    symbol: str
    quantity: int


@dataclass
class RiskVerdict:
    approved: bool
    reason: str


@nexusrpc.service
class RiskService:
    assess: nexusrpc.Operation[RiskRequest, RiskVerdict]
    exposure: nexusrpc.Operation[str, float]


@nexusrpc.handler.service_handler(service=RiskService)
class RiskDeskHandler:
    """The risk desk's real handler (its team tests it; a caller's test mocks it)."""

    @nexusrpc.handler.sync_operation
    async def assess(self, ctx: nexusrpc.handler.StartOperationContext, request: RiskRequest) -> RiskVerdict:
        if request.quantity > 1_000:
            return RiskVerdict(False, f"{request.quantity} shares is over the 1000-share limit")
        return RiskVerdict(True, "within limits")

    @nexusrpc.handler.sync_operation
    async def exposure(self, ctx: nexusrpc.handler.StartOperationContext, symbol: str) -> float:
        return 0.0


@dataclass
class TradeOrder:
    symbol: str
    quantity: int
    risk_endpoint: str = RISK_ENDPOINT


@activity.defn
async def place_order(symbol: str, quantity: int) -> str:
    raise RuntimeError("calls the broker: never in a unit test")


@workflow.defn
class GuardedTrade:
    """Asks the risk desk first; trades only what it approves."""

    @workflow.run
    async def run(self, order: TradeOrder) -> str:
        risk = workflow.create_nexus_client(service=RiskService, endpoint=order.risk_endpoint)
        try:
            verdict = await risk.execute_operation(
                RiskService.assess,
                RiskRequest(order.symbol, order.quantity),
                schedule_to_close_timeout=timedelta(minutes=2),
            )
        except NexusOperationError as err:
            return f"not traded: risk desk failed ({err.cause})"
        if not verdict.approved:
            return f"not traded: {verdict.reason}"
        ticket = await workflow.execute_activity(
            place_order, args=[order.symbol, order.quantity], start_to_close_timeout=timedelta(seconds=30)
        )
        return f"traded {order.quantity} {order.symbol} ({ticket})"
