"""Polling: ask until the answer changes, with backoff and a limit, then say clearly why not.

``OrderPollingWorkflow`` places a limit order (or takes the ``order_id`` of one placed already)
and checks its status until the broker fills it. Between checks it sleeps on a durable workflow
timer that grows by ``backoff_coefficient`` up to ``maximum_interval_seconds``; the checks are
bounded by ``max_polls`` and by ``timeout_seconds`` of workflow time, whichever comes first.

Outcomes: the filled order; ``OrderRejected`` or ``OrderCancelled`` (non-retryable) when the
broker settles the order another way; ``OrderPollingTimeout`` when the limits run out, after the
still pending order is cancelled (``cancel_on_timeout``) so that it cannot fill unwatched.

Workflow timers rather than activity retries do the waiting: each check is a short activity in
the history, the schedule of waits is visible there, and a worker restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.broker import ORDER_NOT_CANCELLABLE, PaperBroker
    from reference_workflows.models import (
        CancelOrderRequest,
        Order,
        OrderStatus,
        OrderStatusRequest,
        Side,
    )
    from reference_workflows.workflows.common import TradeInput, error_type, invalid_input
    from reference_workflows.workflows.steps import place_limit_order, quote_price

ORDER_REJECTED = "OrderRejected"
ORDER_CANCELLED = "OrderCancelled"
ORDER_POLLING_TIMEOUT = "OrderPollingTimeout"

NOT_FILLED: dict[OrderStatus, tuple[str, str]] = {
    OrderStatus.REJECTED: (
        ORDER_REJECTED,
        (
            "order {order.order_id} for {order.quantity} {order.symbol} was rejected after "
            "{checks} status check(s): {reason}"
        ),
    ),
    OrderStatus.CANCELLED: (
        ORDER_CANCELLED,
        (
            "order {order.order_id} for {order.quantity} {order.symbol} was cancelled before it "
            "filled (seen at status check {checks}); place a new order"
        ),
    ),
}
"""The error type and message of an order the broker settled without filling it."""


@dataclass
class OrderPollingInput(TradeInput):
    """Poll ``order_id``, or place a limit order for ``quantity`` of ``symbol`` and poll that.

    ``limit_price`` defaults to the quote's ask (buy) or bid (sell) at ``as_of``.
    """

    order_id: str | None = None
    side: Side = Side.BUY
    quantity: int = 10
    limit_price: float | None = None
    max_polls: int = 10
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 60.0
    timeout_seconds: float = 600.0
    cancel_on_timeout: bool = True


@dataclass
class OrderPollingResult:
    """The filled order and what it took to see it fill."""

    order: Order
    status_checks: int
    waits_seconds: list[float]
    """The sleep before each check after the first: the backoff schedule actually used."""
    placed_by_workflow: bool


@workflow.defn
class OrderPollingWorkflow:
    """Place (optionally) and poll an order with exponential backoff, bounded in checks and time."""

    @workflow.run
    async def run(self, request: OrderPollingInput) -> OrderPollingResult:
        _check(request)
        options = request.activity_options()
        order_id = request.order_id or (await self._place(request, options)).order_id
        started = workflow.now()
        waits: list[float] = []
        delay = request.initial_interval_seconds
        checks = 0
        while True:
            order: Order = await workflow.execute_activity_method(
                PaperBroker.get_order_status, OrderStatusRequest(order_id), **options
            )
            checks += 1
            if order.status is OrderStatus.FILLED:
                return OrderPollingResult(order, checks, waits, request.order_id is None)
            if order.status in NOT_FILLED:
                failure, message = NOT_FILLED[order.status]
                reason = order.reason or "no reason given"
                raise ApplicationError(
                    message.format(order=order, checks=checks, reason=reason),
                    type=failure,
                    non_retryable=True,
                )
            elapsed = (workflow.now() - started).total_seconds()
            if checks >= request.max_polls or elapsed + delay > request.timeout_seconds:
                break
            await workflow.sleep(timedelta(seconds=delay))
            waits.append(delay)
            delay = min(delay * request.backoff_coefficient, request.maximum_interval_seconds)

        cancelled = ""
        if request.cancel_on_timeout:
            try:
                await workflow.execute_activity_method(
                    PaperBroker.cancel_order,
                    CancelOrderRequest(
                        order_id, idempotency_key=f"{workflow.info().workflow_id}:cancel"
                    ),
                    **options,
                )
            except ActivityError as error:
                if error_type(error) != ORDER_NOT_CANCELLABLE:
                    raise
                # It filled between the last check and the cancel: the wait paid off after all.
                order = await workflow.execute_activity_method(
                    PaperBroker.get_order_status, OrderStatusRequest(order_id), **options
                )
                return OrderPollingResult(order, checks + 1, waits, request.order_id is None)
            cancelled = "; it was cancelled so that it cannot fill unwatched"
        waited = (workflow.now() - started).total_seconds()
        raise ApplicationError(
            f"order {order_id} was still pending after {checks} status checks over {waited:.1f}s "
            f"(limits: {request.max_polls} checks, {request.timeout_seconds:g}s){cancelled}",
            type=ORDER_POLLING_TIMEOUT,
            non_retryable=True,
        )

    async def _place(self, request: OrderPollingInput, options: dict[str, Any]) -> Order:
        side = Side(request.side)
        price = request.limit_price
        if price is None:
            price = await quote_price(request, side)
        key = f"{workflow.info().workflow_id}:place"
        return await place_limit_order(request, side, request.quantity, price, key, options)


def _check(request: OrderPollingInput) -> None:
    if request.max_polls < 1:
        raise invalid_input(f"max_polls={request.max_polls!r}; check at least once")
    if request.initial_interval_seconds <= 0 or request.maximum_interval_seconds <= 0:
        raise invalid_input(
            f"initial_interval_seconds={request.initial_interval_seconds!r} and "
            f"maximum_interval_seconds={request.maximum_interval_seconds!r} must be positive"
        )
    if request.backoff_coefficient < 1:
        raise invalid_input(
            f"backoff_coefficient={request.backoff_coefficient!r}; use 1 (fixed) or more"
        )
    if request.timeout_seconds <= 0:
        raise invalid_input(f"timeout_seconds={request.timeout_seconds!r} must be positive")
    if request.order_id is None and request.quantity < 1:
        raise invalid_input(f"quantity={request.quantity!r}; order at least 1 share")


WORKFLOWS: list[type] = [OrderPollingWorkflow]

__all__ = [
    "ORDER_CANCELLED",
    "ORDER_POLLING_TIMEOUT",
    "ORDER_REJECTED",
    "WORKFLOWS",
    "OrderPollingInput",
    "OrderPollingResult",
    "OrderPollingWorkflow",
]
