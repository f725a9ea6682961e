"""The polling pattern on a real server: fill, backoff, both limits, rejection, cancellation.

The waits between checks are workflow timers, which the time-skipping server skips: a test of
a 15-second backoff schedule takes milliseconds of real time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from reference_fixtures import TradingDesk, invalid_input_messages, pinned_inputs
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from reference_workflows.broker import PaperBroker
from reference_workflows.models import (
    CancelOrderRequest,
    ConfirmExecutionRequest,
    ExecuteTradeRequest,
    Order,
    OrderRequest,
    OrderStatus,
    Side,
)
from reference_workflows.workflows.polling import (
    ORDER_CANCELLED,
    ORDER_POLLING_TIMEOUT,
    ORDER_REJECTED,
    OrderPollingInput,
    OrderPollingResult,
    OrderPollingWorkflow,
)

poll = pinned_inputs(OrderPollingInput, "AAPL")


async def timers(desk: TradingDesk, handle: WorkflowHandle[object, object]) -> list[float]:
    return [t.duration.total_seconds() for t in (await desk.history(handle)).timers()]


async def fails_with(handle: WorkflowHandle[object, object], error_type: str) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == error_type, error
    assert error.non_retryable
    return error


def waited(error: ApplicationError, *, checks: int) -> float:
    """The workflow time a timeout message reports for ``checks`` status checks."""
    found = re.search(rf"after {checks} status checks over ([0-9.]+)s", str(error))
    assert found, str(error)
    return float(found[1])


def placed(desk: TradingDesk, quantity: int = 400, price: float = 200.0) -> Order:
    """An order placed outside the workflow, as a user's broker app would."""
    request = OrderRequest("paper", "AAPL", Side.BUY, quantity, "placed-by-test", price)
    return desk.broker.ledger.place_order(request)


async def test_the_order_fills_on_the_second_check(desk: TradingDesk) -> None:
    handle = await desk.start(OrderPollingWorkflow.run, poll(quantity=5))
    result: OrderPollingResult = await handle.result()

    assert result.order.status is OrderStatus.FILLED
    assert (result.status_checks, result.waits_seconds, result.placed_by_workflow) == (
        2,
        [1.0],
        True,
    )
    [fill] = desk.broker.fills()
    assert (fill.order_id, fill.quantity) == (result.order.order_id, 5)
    assert await timers(desk, handle) == [1.0]


async def test_waits_back_off_exponentially_up_to_the_maximum(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(fill_after_checks=6)
    handle = await desk.start(OrderPollingWorkflow.run, poll(maximum_interval_seconds=5.0))
    result: OrderPollingResult = await handle.result()

    assert result.order.status is OrderStatus.FILLED and result.status_checks == 6
    assert result.waits_seconds == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert await timers(desk, handle) == result.waits_seconds


async def test_running_out_of_checks_times_out_and_cancels_the_order(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(fill_after_checks=None)  # it never fills
    before = await desk.temporal.now()
    handle = await desk.start(OrderPollingWorkflow.run, poll(max_polls=4))

    error = await fails_with(handle, ORDER_POLLING_TIMEOUT)

    # 1 + 2 + 4 s of waits, plus the (real) time the checks took.
    assert 7.0 <= waited(error, checks=4) < 8.0
    assert "(limits: 4 checks, 600s)" in str(error)
    assert "it was cancelled" in str(error)
    assert await timers(desk, handle) == [1.0, 2.0, 4.0]
    assert await desk.temporal.now() - before >= timedelta(seconds=7)  # workflow time, skipped
    [order] = desk.broker.orders()
    assert order.status is OrderStatus.CANCELLED and desk.broker.fills() == []


async def test_the_time_limit_stops_polling_before_the_checks_run_out(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(fill_after_checks=None)
    handle = await desk.start(
        OrderPollingWorkflow.run, poll(max_polls=100, timeout_seconds=5.0, cancel_on_timeout=False)
    )

    error = await fails_with(handle, ORDER_POLLING_TIMEOUT)

    # Checks at 0s, 1s and 3s; the next wait (4s) would end past the 5s limit.
    assert 3.0 <= waited(error, checks=3) < 5.0
    assert "(limits: 100 checks, 5s)" in str(error)
    assert "cancelled" not in str(error)
    assert [o.status for o in desk.broker.orders()] == [OrderStatus.PENDING]


async def test_an_order_the_account_can_no_longer_pay_for_is_rejected(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(fill_after_checks=1)
    order = placed(desk)  # 80,000 of AAPL: affordable when placed
    desk.broker.ledger.execute_trade(
        ExecuteTradeRequest("paper", "MSFT", Side.BUY, 100, "spend", 400.0)
    )
    handle = await desk.start(OrderPollingWorkflow.run, poll(order_id=order.order_id))

    error = await fails_with(handle, ORDER_REJECTED)

    assert f"order {order.order_id} for 400 AAPL was rejected after 1 status check(s)" in str(error)
    assert "can pay 60,000.00" in str(error)


async def test_an_order_cancelled_elsewhere_fails_the_wait(desk: TradingDesk) -> None:
    order = placed(desk)
    desk.broker.ledger.cancel_order(CancelOrderRequest(order.order_id, "cancel-by-test"))
    handle = await desk.start(OrderPollingWorkflow.run, poll(order_id=order.order_id))

    error = await fails_with(handle, ORDER_CANCELLED)

    assert "was cancelled before it filled (seen at status check 1)" in str(error)
    assert await timers(desk, handle) == []


class FillsOnCancelBroker(PaperBroker):
    """A venue that fills the order just before the cancel arrives (the race at the limit)."""

    @activity.defn
    async def cancel_order(self, request: CancelOrderRequest) -> Order:
        self.ledger.confirm_execution(ConfirmExecutionRequest(request.order_id, "venue-fill"))
        return await super().cancel_order(request)


async def test_an_order_that_fills_as_it_is_cancelled_is_a_success(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(broker=FillsOnCancelBroker, fill_after_checks=None)

    result: OrderPollingResult = await desk.run(OrderPollingWorkflow.run, poll(max_polls=2))

    assert result.order.status is OrderStatus.FILLED and result.status_checks == 3
    assert len(desk.broker.fills()) == 1


async def test_inputs_that_cannot_work_fail_at_once(desk: TradingDesk) -> None:
    cases = [
        {"max_polls": 0},
        {"initial_interval_seconds": 0},
        {"backoff_coefficient": 0.5},
        {"timeout_seconds": -1},
        {"quantity": 0},
    ]
    messages = await invalid_input_messages(
        desk, OrderPollingWorkflow.run, [poll(**f) for f in cases]
    )

    for fields, message in zip(cases, messages):
        [(name, value)] = fields.items()
        assert f"{name}={value!r}" in message
