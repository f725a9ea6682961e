"""The saga on a real server: the happy path, and compensation leaving the ledger as it was."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reference_fixtures import (
    FAST_RETRY,
    STARTING_CASH,
    RejectingBroker,
    TradingDesk,
    pinned_inputs,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from reference_workflows.broker import (
    INSUFFICIENT_FUNDS,
    INVALID_BROKER_REQUEST,
    ORDER_NOT_FILLABLE,
)
from reference_workflows.models import (
    ExecuteTradeRequest,
    OrderStatus,
    ReservationStatus,
    Side,
)
from reference_workflows.workflows.saga import (
    TRADE_SAGA_FAILED,
    TradeSagaInput,
    TradeSagaResult,
    TradeSagaWorkflow,
)

saga = pinned_inputs(TradeSagaInput, "AAPL", compensation_retry=FAST_RETRY)


async def test_a_buy_reserves_places_and_confirms(desk: TradingDesk) -> None:
    result: TradeSagaResult = await desk.run(TradeSagaWorkflow.run, saga(quantity=10))

    assert result.steps == ["get_quote", "reserve_capital", "place_order", "confirm_execution"]
    assert result.reservation is not None
    assert result.reservation.amount == pytest.approx(10 * result.price)
    assert result.order.reservation_id == result.reservation.reservation_id
    assert (result.fill.quantity, result.fill.price) == (10, result.price)
    broker = desk.broker
    [reservation] = broker.ledger.reservations()
    assert reservation.status is ReservationStatus.CONSUMED  # the fill drew on it
    account = broker.snapshot()
    assert (account.cash, account.reserved) == (
        pytest.approx(STARTING_CASH - result.fill.notional),
        0,
    )
    assert [(p.symbol, p.quantity) for p in account.positions] == [("AAPL", 10)]
    history = await desk.history()
    assert history.activity_names() == result.steps


async def test_a_sale_needs_no_reservation(desk: TradingDesk) -> None:
    desk.broker.ledger.execute_trade(
        ExecuteTradeRequest("paper", "AAPL", Side.BUY, 20, "setup", 180.0)
    )

    result: TradeSagaResult = await desk.run(
        TradeSagaWorkflow.run, saga(side=Side.SELL, quantity=5, limit_price=200.0)
    )

    assert result.steps == ["place_order", "confirm_execution"]  # the given price needs no quote
    assert result.reservation is None and result.fill.price == 200.0
    account = desk.broker.snapshot()
    assert [(p.symbol, p.quantity) for p in account.positions] == [("AAPL", 15)]
    assert account.cash == pytest.approx(STARTING_CASH - 20 * 180.0 + 5 * 200.0)


@pytest.mark.parametrize(
    ("reject", "error_type", "completed", "compensations", "ran"),
    [
        (
            "place_order",
            INVALID_BROKER_REQUEST,
            ["get_quote", "reserve_capital"],
            ["release_capital"],
            # The order's compensation is pushed before it is placed: it runs, finds no
            # order (the venue refused it) and is not counted.
            ["cancel_order", "release_capital"],
        ),
        (
            "confirm_execution",
            ORDER_NOT_FILLABLE,
            ["get_quote", "reserve_capital", "place_order"],
            ["cancel_order", "release_capital"],
            ["cancel_order", "release_capital"],
        ),
    ],
)
async def test_a_refusal_is_compensated_in_reverse_and_the_ledger_is_as_before(
    make_desk: Callable[..., TradingDesk],
    reject: str,
    error_type: str,
    completed: list[str],
    compensations: list[str],
    ran: list[str],
) -> None:
    desk = make_desk(broker=RejectingBroker, reject=reject)
    handle = await desk.start(TradeSagaWorkflow.run, saga(quantity=10))

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == TRADE_SAGA_FAILED
    assert error.non_retryable
    assert f"failed at {reject}: {error_type}" in str(error)
    [details] = error.details
    assert details["failed_step"] == reject and details["error_type"] == error_type
    assert details["completed_steps"] == completed
    assert details["compensations"] == compensations
    history = await desk.history(handle)
    assert history.activity_names() == [*completed, reject, *ran]
    # The ledger is back where it started: all the cash, nothing reserved, no open order.
    broker = desk.broker
    account = broker.snapshot()
    assert (account.cash, account.reserved, account.positions) == (STARTING_CASH, 0, [])
    assert broker.open_reservations() == []
    assert [r.status for r in broker.ledger.reservations()] == [ReservationStatus.RELEASED]
    assert [o.status for o in broker.orders()] == (
        [OrderStatus.CANCELLED] if reject == "confirm_execution" else []
    )
    assert broker.fills() == []


async def test_insufficient_funds_at_the_first_step_leave_nothing_to_undo(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(starting_cash=500.0)

    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(TradeSagaWorkflow.run, saga(quantity=10))

    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == TRADE_SAGA_FAILED
    [details] = error.details
    assert (details["failed_step"], details["error_type"]) == (
        "reserve_capital",
        INSUFFICIENT_FUNDS,
    )
    assert details["compensations"] == []
    assert "compensated: nothing to undo" in str(error)
    assert desk.broker.snapshot().cash == 500.0
    assert desk.broker.ledger.reservations() == []
