"""PaperLedger.audit(): a ledger that adds up passes; each way of breaking it is caught.

The broken ledgers are made by hand with SQL, as a bug or a lost write would leave them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reference_workflows.ledger import PaperLedger, order_id_for, reservation_id_for
from reference_workflows.models import (
    ConfirmExecutionRequest,
    ExecuteTradeRequest,
    OrderRequest,
    ReleaseCapitalRequest,
    ReserveCapitalRequest,
    Side,
)

FUNDING = {"acct": 10_000.0}


@pytest.fixture
def ledger(tmp_path: Path) -> PaperLedger:
    """A ledger with a buy, a sale at a profit, a saga-style buy and a released reservation."""
    ledger = PaperLedger(
        tmp_path / "ledger.sqlite3", starting_cash=10_000.0, price_source=lambda s: 100.0
    )
    ledger.execute_trade(ExecuteTradeRequest("acct", "AAPL", Side.BUY, 10, "buy", price=100.0))
    ledger.execute_trade(ExecuteTradeRequest("acct", "AAPL", Side.SELL, 4, "sell", price=110.0))
    reservation = ledger.reserve_capital(ReserveCapitalRequest("acct", 505.0, "reserve"))
    order = ledger.place_order(
        OrderRequest("acct", "MSFT", Side.BUY, 5, "place", 101.0, reservation.reservation_id)
    )
    ledger.confirm_execution(ConfirmExecutionRequest(order.order_id, "confirm"))
    ledger.reserve_capital(ReserveCapitalRequest("acct", 300.0, "reserve-2"))
    ledger.release_capital(ReleaseCapitalRequest(reservation_id_for("reserve-2"), "release-2"))
    return ledger


def _sql(ledger: PaperLedger, statement: str, *parameters: object) -> None:
    conn = sqlite3.connect(ledger.path, isolation_level=None)
    try:
        conn.execute(statement, parameters)
    finally:
        conn.close()


def _only(problems: list[str], *fragments: str) -> None:
    """Every fragment shows in some problem: the audit names what is wrong."""
    assert problems, "the audit found nothing wrong"
    for fragment in fragments:
        assert any(fragment in p for p in problems), (fragment, problems)


def test_a_consistent_ledger_has_no_violations(ledger: PaperLedger) -> None:
    assert ledger.audit(FUNDING, settled=True) == []
    # The realised result is in the cash: 4 sold at 110 that cost 100 each.
    snapshot = ledger.account("acct")
    held = sum(p.cost_basis for p in snapshot.positions) if snapshot.positions else 0.0
    assert snapshot.cash + snapshot.reserved + held == pytest.approx(10_000.0 + 40.0)


def test_unnamed_accounts_are_funded_with_starting_cash(ledger: PaperLedger) -> None:
    ledger.account("other")  # opened with starting_cash
    assert ledger.audit(FUNDING) == []
    assert ledger.audit({**FUNDING, "other": 1.0}) != []


def test_money_appearing_outside_a_fill_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE accounts SET cash = cash + 1 WHERE account_id = 'acct'")
    _only(ledger.audit(FUNDING), "should be", "cash plus positions at fill prices")


def test_wrong_funding_is_caught(ledger: PaperLedger) -> None:
    _only(ledger.audit({"acct": 9_000.0}), "funding 9,000.00")


def test_a_second_fill_of_one_order_is_caught(ledger: PaperLedger) -> None:
    order_id = order_id_for("buy")
    # The schema's UNIQUE guard is the second line of defence; the audit must not rely on it.
    _sql(ledger, "CREATE TABLE f2 AS SELECT * FROM fills")
    _sql(ledger, "DROP TABLE fills")
    _sql(ledger, "ALTER TABLE f2 RENAME TO fills")
    _sql(
        ledger,
        "INSERT INTO fills SELECT 'fill-again', order_id, account_id, symbol, side, quantity, "
        "price, notional FROM fills WHERE order_id = ?",
        order_id,
    )
    _only(ledger.audit(FUNDING), f"order {order_id!r} is filled twice", "should be")


def test_a_lost_fill_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "DELETE FROM fills WHERE order_id = ?", order_id_for("place"))
    _only(ledger.audit(FUNDING), "is FILLED but has no fill", "position MSFT")


def test_a_fill_of_an_unfilled_order_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE orders SET status = 'cancelled' WHERE order_id = ?", order_id_for("buy"))
    _only(ledger.audit(FUNDING), "but is cancelled")


def test_a_fill_unlike_its_order_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE orders SET quantity = 11 WHERE order_id = ?", order_id_for("buy"))
    _only(ledger.audit(FUNDING), "has quantity 10, its order")


def test_a_position_unlike_the_fills_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE positions SET quantity = quantity + 1 WHERE symbol = 'AAPL'")
    _only(ledger.audit(FUNDING), "position AAPL of 'acct' is 7 shares")


def test_reserved_money_without_a_reservation_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE accounts SET cash = cash - 500, reserved = reserved + 500")
    _only(ledger.audit(FUNDING), "ACTIVE reservations add up to 0.00")


def test_an_open_reservation_after_settling_is_caught(ledger: PaperLedger) -> None:
    ledger.reserve_capital(ReserveCapitalRequest("acct", 200.0, "left-open"))
    assert ledger.audit(FUNDING) == []  # mid-saga, an open reservation is fine
    _only(ledger.audit(FUNDING, settled=True), "is still ACTIVE")


def test_a_pending_order_after_settling_is_caught(ledger: PaperLedger) -> None:
    ledger.place_order(OrderRequest("acct", "AAPL", Side.SELL, 1, "pending", 120.0))
    assert ledger.audit(FUNDING) == []
    _only(ledger.audit(FUNDING, settled=True), "is still PENDING")


def test_a_key_whose_order_was_lost_is_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "DELETE FROM orders WHERE order_id = ?", order_id_for("sell"))
    _only(ledger.audit(FUNDING), "idempotency key 'sell' (execute_trade) left no order")


def test_a_key_whose_reservation_was_lost_is_caught(ledger: PaperLedger) -> None:
    _sql(
        ledger, "DELETE FROM reservations WHERE reservation_id = ?", reservation_id_for("reserve-2")
    )
    _only(ledger.audit(FUNDING), "'reserve-2' (reserve_capital) left no reservation")


def test_a_consumed_reservation_that_paid_for_nothing_is_caught(ledger: PaperLedger) -> None:
    _sql(
        ledger,
        "UPDATE reservations SET status = 'consumed' WHERE reservation_id = ?",
        reservation_id_for("reserve-2"),
    )
    _only(ledger.audit(FUNDING), "is CONSUMED but no filled buy used it")


def test_negative_cash_and_a_sale_of_shares_never_held_are_caught(ledger: PaperLedger) -> None:
    _sql(ledger, "UPDATE accounts SET cash = -5")
    _sql(
        ledger,
        "UPDATE fills SET quantity = 20, notional = 220000 WHERE order_id = ?",
        order_id_for("sell"),
    )
    _only(ledger.audit(FUNDING), "negative money", "but 'acct' held 10")
