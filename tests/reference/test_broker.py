"""The SQLite paper broker: idempotency, money conservation, errors, polling and concurrency."""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from reference_workflows.broker import (
    IDEMPOTENCY_KEY_CONFLICT,
    INSUFFICIENT_FUNDS,
    INVALID_BROKER_REQUEST,
    ORDER_NOT_CANCELLABLE,
    UNKNOWN_ORDER,
    UNKNOWN_RESERVATION,
    BrokerError,
    IdempotencyKeyConflictError,
    InsufficientFundsError,
    InsufficientPositionError,
    OrderNotCancellableError,
    OrderNotFillableError,
    PaperBroker,
    PaperLedger,
)
from reference_workflows.ledger import order_id_for, reservation_id_for
from reference_workflows.models import (
    AccountRequest,
    CancelOrderRequest,
    ConfirmExecutionRequest,
    ExecuteTradeRequest,
    ExecutionStatus,
    OrderRequest,
    OrderStatus,
    OrderStatusRequest,
    ReleaseCapitalRequest,
    ReservationStatus,
    ReserveCapitalRequest,
    Side,
)

PRICE = 100.0  # every fill here is at this price, so "marked at fill price" is well defined


def _ledger(path: Path, **options: object) -> PaperLedger:
    options.setdefault("price_source", lambda symbol: PRICE)
    return PaperLedger(path / "ledger.sqlite3", starting_cash=10_000.0, **options)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> PaperLedger:
    return _ledger(tmp_path)


def _total_value(ledger: PaperLedger) -> float:
    account = ledger.account("paper")
    return account.value_at({p.symbol: PRICE for p in account.positions})


def _buy(ledger: PaperLedger, key: str, quantity: int = 10, reservation_id: str | None = None):  # type: ignore[no-untyped-def]
    return ledger.place_order(
        OrderRequest("paper", "AAPL", Side.BUY, quantity, key, reservation_id=reservation_id)
    )


# ------------------------------------------------------------------ idempotency


def test_reserving_twice_with_one_key_reserves_once(ledger: PaperLedger) -> None:
    request = ReserveCapitalRequest("paper", 2_500.0, "wf-1-reserve")
    first, again = ledger.reserve_capital(request), ledger.reserve_capital(request)
    assert again == first
    account = ledger.account()
    assert (account.cash, account.reserved) == (7_500.0, 2_500.0)
    assert ledger.open_reservations() == [first]


def test_a_retried_order_is_placed_and_filled_once(ledger: PaperLedger) -> None:
    order = _buy(ledger, "wf-1-order")
    assert _buy(ledger, "wf-1-order") == order
    fill = ledger.confirm_execution(ConfirmExecutionRequest(order.order_id, "wf-1-confirm"))
    assert ledger.confirm_execution(ConfirmExecutionRequest(order.order_id, "wf-1-confirm")) == fill
    # Even a confirmation under a new key (another workflow run, say) returns the first fill.
    assert ledger.confirm_execution(ConfirmExecutionRequest(order.order_id, "other")) == fill
    assert len(ledger.orders()) == 1
    assert ledger.fills() == [fill]
    assert ledger.account().cash == 10_000.0 - 10 * PRICE


def test_execute_trade_is_idempotent(ledger: PaperLedger) -> None:
    request = ExecuteTradeRequest("paper", "AAPL", Side.BUY, 5, "wf-2-trade")
    first = ledger.execute_trade(request)
    assert first.status is ExecutionStatus.FILLED and first.notional == 500.0
    assert ledger.execute_trade(request) == first
    assert len(ledger.fills()) == 1
    assert ledger.account().positions[0].quantity == 5


def test_reusing_a_key_for_different_arguments_is_an_error(ledger: PaperLedger) -> None:
    ledger.reserve_capital(ReserveCapitalRequest("paper", 100.0, "k"))
    with pytest.raises(
        IdempotencyKeyConflictError, match="'k' was already used for reserve_capital"
    ):
        ledger.reserve_capital(ReserveCapitalRequest("paper", 200.0, "k"))
    with pytest.raises(IdempotencyKeyConflictError):
        ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, 1, "k"))
    assert ledger.account().reserved == 100.0


def test_an_empty_idempotency_key_is_rejected(ledger: PaperLedger) -> None:
    with pytest.raises(BrokerError, match="needs a non-empty idempotency_key"):
        ledger.reserve_capital(ReserveCapitalRequest("paper", 100.0, " "))


# ------------------------------------------------------------------ money conservation


def test_money_is_conserved_across_the_saga_steps(ledger: PaperLedger) -> None:
    start = _total_value(ledger)
    reservation = ledger.reserve_capital(ReserveCapitalRequest("paper", 1_500.0, "r1"))
    assert _total_value(ledger) == start
    order = _buy(ledger, "o1", reservation_id=reservation.reservation_id)
    assert _total_value(ledger) == start
    ledger.confirm_execution(ConfirmExecutionRequest(order.order_id, "c1"))
    account = ledger.account()
    # The fill cost 1_000 of the 1_500 reserved; the 500 left over went back to cash.
    assert (account.cash, account.reserved, account.positions[0].cost_basis) == (
        9_000.0,
        0.0,
        1_000.0,
    )
    assert ledger.open_reservations() == []
    assert _total_value(ledger) == start

    second = ledger.reserve_capital(ReserveCapitalRequest("paper", 800.0, "r2"))
    pending = _buy(ledger, "o2", quantity=8, reservation_id=second.reservation_id)
    ledger.cancel_order(CancelOrderRequest(pending.order_id, "x2"))
    assert _total_value(ledger) == start
    released = ledger.release_capital(ReleaseCapitalRequest(second.reservation_id, "rel2"))
    assert released is not None and released.status is ReservationStatus.RELEASED
    ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.SELL, 4, "s1"))
    assert _total_value(ledger) == start
    assert ledger.account().reserved == 0.0


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["reserve", "buy", "sell", "confirm", "cancel", "release", "poll"]),
            st.integers(1, 40),
            st.integers(0, 9),
        ),
        max_size=15,
    )
)
def test_any_sequence_of_operations_conserves_money(ops: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        ledger = _ledger(Path(directory), fill_after_checks=2)
        start = _total_value(ledger)
        reservations: list[str] = []
        orders: list[str] = []
        for step, (op, size, pick) in enumerate(ops):
            key = f"step-{step}"
            try:
                if op == "reserve":
                    reservations.append(
                        ledger.reserve_capital(
                            ReserveCapitalRequest("paper", size * PRICE, key)
                        ).reservation_id
                    )
                elif op in ("buy", "sell"):
                    reservation = (
                        reservations[pick % len(reservations)]
                        if reservations and op == "buy"
                        else None
                    )
                    side = Side.BUY if op == "buy" else Side.SELL
                    orders.append(
                        ledger.place_order(
                            OrderRequest(
                                "paper", "AAPL", side, size, key, reservation_id=reservation
                            )
                        ).order_id
                    )
                elif op == "release" and reservations:
                    ledger.release_capital(
                        ReleaseCapitalRequest(reservations[pick % len(reservations)], key)
                    )
                elif orders:
                    order_id = orders[pick % len(orders)]
                    if op == "confirm":
                        ledger.confirm_execution(ConfirmExecutionRequest(order_id, key))
                    elif op == "cancel":
                        ledger.cancel_order(CancelOrderRequest(order_id, key))
                    else:
                        ledger.order_status(OrderStatusRequest(order_id))
            except BrokerError:
                pass  # refusals (no cash, no shares, filled already) must leave the books intact
            account = ledger.account()
            assert account.cash >= 0 and account.reserved >= 0
            assert _total_value(ledger) == pytest.approx(start, abs=1e-6)
            assert account.reserved == pytest.approx(
                sum(r.amount for r in ledger.open_reservations())
            )
        assert len({fill.order_id for fill in ledger.fills()}) == len(ledger.fills())


# ------------------------------------------------------------------ refusals


def test_ids_derive_from_idempotency_keys_so_a_compensation_can_name_them_first(ledger: PaperLedger) -> None:
    # A saga registers its compensation before the step: it names the reservation and the
    # order the step will make, and says missing_ok in case the step never takes effect.
    release = ReleaseCapitalRequest(reservation_id_for("r1"), "undo-r1", missing_ok=True)
    cancel = CancelOrderRequest(order_id_for("o1"), "undo-o1", missing_ok=True)
    assert ledger.release_capital(release) is None and ledger.cancel_order(cancel) is None
    assert ledger.account().cash == 10_000.0

    reservation = ledger.reserve_capital(ReserveCapitalRequest("paper", 1_000.0, "r1"))
    order = _buy(ledger, "o1", reservation_id=reservation.reservation_id)
    assert (reservation.reservation_id, order.order_id) == (release.reservation_id, cancel.order_id)
    # Fresh keys: the calls above recorded "nothing to undo" under theirs.
    cancelled = ledger.cancel_order(CancelOrderRequest(order.order_id, "undo-o1-again", missing_ok=True))
    released = ledger.release_capital(ReleaseCapitalRequest(reservation.reservation_id, "undo-r1-again", missing_ok=True))
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert released is not None and released.status is ReservationStatus.RELEASED
    assert (ledger.account().cash, ledger.account().reserved) == (10_000.0, 0.0)

    # Without missing_ok an unknown id is still the caller's mistake, and says so.
    with pytest.raises(BrokerError, match="no reservation 'res-nope'"):
        ledger.release_capital(ReleaseCapitalRequest("res-nope", "k"))
    # missing_ok is not part of what the key stands for: the same key without it is the same call.
    again = ledger.release_capital(ReleaseCapitalRequest(reservation.reservation_id, "undo-r1-again"))
    assert again == released


def test_insufficient_funds_changes_nothing(ledger: PaperLedger) -> None:
    with pytest.raises(
        InsufficientFundsError, match=r"has 10,000\.00 cash, cannot reserve 20,000\.00"
    ):
        ledger.reserve_capital(ReserveCapitalRequest("paper", 20_000.0, "big"))
    with pytest.raises(InsufficientFundsError, match="buy fewer shares"):
        ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, 101, "too-many"))
    assert ledger.account().cash == 10_000.0
    assert ledger.orders() == [] and ledger.open_reservations() == []
    # The failed key was not recorded, so a corrected retry under it can still succeed.
    ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, 100, "too-many-fixed"))
    assert ledger.account().cash == 0.0


def test_selling_what_is_not_held_is_refused(ledger: PaperLedger) -> None:
    with pytest.raises(InsufficientPositionError, match="holds 0 AAPL, cannot sell 1"):
        ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.SELL, 1, "short"))


def test_order_life_cycle_refusals(ledger: PaperLedger) -> None:
    filled = _buy(ledger, "o1")
    ledger.confirm_execution(ConfirmExecutionRequest(filled.order_id, "c1"))
    with pytest.raises(OrderNotCancellableError, match="already filled"):
        ledger.cancel_order(CancelOrderRequest(filled.order_id, "x1"))
    cancelled = _buy(ledger, "o2")
    ledger.cancel_order(CancelOrderRequest(cancelled.order_id, "x2"))
    assert (
        ledger.cancel_order(CancelOrderRequest(cancelled.order_id, "x3")).status  # type: ignore[union-attr]
        is OrderStatus.CANCELLED
    )
    with pytest.raises(OrderNotFillableError, match="is cancelled and cannot be filled"):
        ledger.confirm_execution(ConfirmExecutionRequest(cancelled.order_id, "c2"))


async def test_activities_surface_refusals_as_non_retryable_errors(tmp_path: Path) -> None:
    broker = PaperBroker(tmp_path / "ledger.sqlite3", starting_cash=1_000.0)
    env = ActivityEnvironment()
    cases = [
        (broker.reserve_capital, ReserveCapitalRequest("paper", 5_000.0, "k1"), INSUFFICIENT_FUNDS),
        (broker.release_capital, ReleaseCapitalRequest("res-nope", "k2"), UNKNOWN_RESERVATION),
        (broker.get_order_status, OrderStatusRequest("ord-nope"), UNKNOWN_ORDER),
        (broker.confirm_execution, ConfirmExecutionRequest("ord-nope", "k3"), UNKNOWN_ORDER),
        (
            broker.place_order,
            OrderRequest("paper", "AAPL", Side.BUY, 0, "k4"),
            INVALID_BROKER_REQUEST,
        ),
    ]
    for activity_fn, request, error_type in cases:
        with pytest.raises(ApplicationError) as raised:
            await env.run(activity_fn, request)  # type: ignore[arg-type]
        assert (raised.value.type, raised.value.non_retryable) == (error_type, True)

    await env.run(broker.reserve_capital, ReserveCapitalRequest("paper", 10.0, "same"))
    with pytest.raises(ApplicationError) as conflict:
        await env.run(broker.reserve_capital, ReserveCapitalRequest("paper", 20.0, "same"))
    assert conflict.value.type == IDEMPOTENCY_KEY_CONFLICT and conflict.value.non_retryable

    trade = await env.run(
        broker.execute_trade, ExecuteTradeRequest("paper", "AAPL", Side.BUY, 2, "t", price=50.0)
    )
    with pytest.raises(ApplicationError) as not_cancellable:
        await env.run(broker.cancel_order, CancelOrderRequest(trade.order_id or "", "x"))
    assert not_cancellable.value.type == ORDER_NOT_CANCELLABLE
    account = await env.run(broker.get_account, AccountRequest("paper"))
    assert account == broker.snapshot() and account.cash == 1_000.0 - 10.0 - 100.0


# ------------------------------------------------------------------ polling


def test_an_order_fills_after_the_configured_number_of_status_checks(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, fill_after_checks=3)
    order = _buy(ledger, "o1")
    statuses = [ledger.order_status(OrderStatusRequest(order.order_id)) for _ in range(5)]
    assert [s.status for s in statuses] == [OrderStatus.PENDING] * 2 + [OrderStatus.FILLED] * 3
    assert statuses[2].status_checks == 3 and statuses[2].average_price == PRICE
    assert len(ledger.fills()) == 1


def test_an_order_fills_once_its_time_has_come(tmp_path: Path) -> None:
    now = [datetime(2024, 6, 28, 14, 0, tzinfo=timezone.utc)]
    ledger = _ledger(
        tmp_path, fill_after_checks=None, fill_after=timedelta(minutes=5), clock=lambda: now[0]
    )
    order = _buy(ledger, "o1")
    assert ledger.order_status(OrderStatusRequest(order.order_id)).status is OrderStatus.PENDING
    now[0] += timedelta(minutes=5)
    assert ledger.order_status(OrderStatusRequest(order.order_id)).status is OrderStatus.FILLED


def test_a_due_order_the_account_cannot_pay_for_is_rejected(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, fill_after_checks=1)
    order = _buy(ledger, "o1", quantity=80)
    ledger.execute_trade(ExecuteTradeRequest("paper", "MSFT", Side.BUY, 50, "spend"))
    polled = ledger.order_status(OrderStatusRequest(order.order_id))
    assert polled.status is OrderStatus.REJECTED
    assert "can pay 5,000.00 but 80 AAPL at 100.00 costs 8,000.00" in polled.reason
    assert ledger.account().cash == 5_000.0


# ------------------------------------------------------------------ concurrency and persistence


def test_concurrent_duplicate_trades_from_threads_fill_once_each(ledger: PaperLedger) -> None:
    keys = [f"trade-{i}" for i in range(30)]
    requests = [ExecuteTradeRequest("paper", "AAPL", Side.BUY, 1, key) for key in keys * 3]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(ledger.execute_trade, requests))
    assert len({r.order_id for r in results}) == 30
    assert len(ledger.fills()) == 30
    account = ledger.account()
    assert account.cash == 10_000.0 - 30 * PRICE
    assert account.positions[0].quantity == 30


def test_concurrent_reservations_never_overdraw(ledger: PaperLedger) -> None:
    def reserve(i: int) -> bool:
        try:
            ledger.reserve_capital(ReserveCapitalRequest("paper", 1_000.0, f"r-{i}"))
            return True
        except InsufficientFundsError:
            return False

    with ThreadPoolExecutor(max_workers=16) as pool:
        succeeded = sum(pool.map(reserve, range(25)))
    account = ledger.account()
    assert succeeded == 10
    assert (account.cash, account.reserved) == (0.0, 10_000.0)


async def test_concurrent_activities_share_one_consistent_ledger(tmp_path: Path) -> None:
    broker = PaperBroker(tmp_path / "ledger.sqlite3", starting_cash=10_000.0)
    env = ActivityEnvironment()
    trades = [
        env.run(
            broker.execute_trade,
            ExecuteTradeRequest("paper", "SPY", Side.BUY, 1, f"t{i % 10}", 50.0),
        )
        for i in range(40)
    ]
    await asyncio.gather(*trades)
    assert len(broker.fills()) == 10
    assert broker.snapshot().cash == 10_000.0 - 10 * 50.0


def test_the_ledger_is_a_file_that_outlives_the_broker(tmp_path: Path) -> None:
    first = PaperBroker(tmp_path / "ledger.sqlite3")
    first.ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, 3, "t1", 10.0))
    second = PaperBroker(tmp_path / "ledger.sqlite3")
    assert second.snapshot() == first.snapshot()
    assert second.fills() == first.fills()
    assert second.snapshot("other").cash == 100_000.0  # accounts open on first use
