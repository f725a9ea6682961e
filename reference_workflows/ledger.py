"""The paper broker's ledger: accounts, reservations, orders, fills and positions in SQLite.

Temporal retries activities, and a retry can arrive after the first attempt already changed the
ledger (the worker crashed before reporting success, say). So every mutating call carries an
idempotency key: the first call's result is stored under the key in the same transaction as its
effect, and a repeat returns that stored result without touching anything. A retried order is
never filled twice; the ``fills`` table also allows one fill per order, as a second guard.

Concurrency: each call opens its own connection and runs in one ``BEGIN IMMEDIATE`` transaction
on a WAL-mode database, so calls from many threads (or processes) serialise instead of
interleaving. Money is stored in integer cents so that sums balance exactly.

The Temporal activities over this ledger are in :mod:`reference_workflows.broker`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Optional, TypeVar

from temporalio.converter import AdvancedJSONEncoder, value_to_type

from .market import SimulatedMarket
from .models import (
    AccountSnapshot,
    CancelOrderRequest,
    ConfirmExecutionRequest,
    ExecuteTradeRequest,
    ExecutionStatus,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderStatusRequest,
    Position,
    ReleaseCapitalRequest,
    Reservation,
    ReservationStatus,
    ReserveCapitalRequest,
    Side,
    TradeExecution,
    TradingError,
)

DEFAULT_ACCOUNT = "paper"
INSUFFICIENT_FUNDS = "InsufficientFunds"
INSUFFICIENT_POSITION = "InsufficientPosition"
UNKNOWN_ORDER = "UnknownOrder"
UNKNOWN_RESERVATION = "UnknownReservation"
ORDER_NOT_CANCELLABLE = "OrderNotCancellable"
ORDER_NOT_FILLABLE = "OrderNotFillable"
IDEMPOTENCY_KEY_CONFLICT = "IdempotencyKeyConflict"
INVALID_BROKER_REQUEST = "InvalidBrokerRequest"
BROKER_ERROR_TYPES = (
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_POSITION,
    UNKNOWN_ORDER,
    UNKNOWN_RESERVATION,
    ORDER_NOT_CANCELLABLE,
    ORDER_NOT_FILLABLE,
    IDEMPOTENCY_KEY_CONFLICT,
    INVALID_BROKER_REQUEST,
)
"""The ``error_type`` of every ``BrokerError``: each one fails the same call again if retried."""

_T = TypeVar("_T")


class BrokerError(TradingError, error_type="BrokerError"):
    """A broker call that cannot succeed as asked; retrying the same call will not help."""


class InsufficientFundsError(BrokerError, error_type=INSUFFICIENT_FUNDS):
    """The account's cash (less what is reserved) does not cover the buy or the reservation."""


class InsufficientPositionError(BrokerError, error_type=INSUFFICIENT_POSITION):
    """The account holds fewer shares than the sale."""


class UnknownOrderError(BrokerError, error_type=UNKNOWN_ORDER):
    """No order has the id (and ``missing_ok`` was not asked for)."""


class UnknownReservationError(BrokerError, error_type=UNKNOWN_RESERVATION):
    """No reservation has the id (and ``missing_ok`` was not asked for)."""


class OrderNotCancellableError(BrokerError, error_type=ORDER_NOT_CANCELLABLE):
    """The order is filled already: only an opposite order undoes it."""


class OrderNotFillableError(BrokerError, error_type=ORDER_NOT_FILLABLE):
    """The order is no longer pending (cancelled, rejected), so it cannot fill."""


class IdempotencyKeyConflictError(BrokerError, error_type=IDEMPOTENCY_KEY_CONFLICT):
    """The idempotency key was used before for a call with other arguments."""


class InvalidBrokerRequestError(BrokerError, error_type=INVALID_BROKER_REQUEST):
    """The request itself is wrong: side, quantity, price, amount, key or reservation."""


LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, cash INTEGER NOT NULL, reserved INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    reservation_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, amount INTEGER NOT NULL,
    status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, quantity INTEGER NOT NULL, status TEXT NOT NULL,
    reference_price REAL NOT NULL, limit_price REAL, reservation_id TEXT,
    filled_quantity INTEGER NOT NULL DEFAULT 0, average_price REAL,
    status_checks INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
    placed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL, price REAL NOT NULL,
    notional INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    account_id TEXT NOT NULL, symbol TEXT NOT NULL, quantity INTEGER NOT NULL,
    cost INTEGER NOT NULL, PRIMARY KEY (account_id, symbol));
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, operation TEXT NOT NULL, fingerprint TEXT NOT NULL,
    result TEXT NOT NULL);
"""
_TABLES = ("accounts", "reservations", "orders", "fills", "positions", "idempotency")


def _cents(amount: float) -> int:
    return round(amount * 100)


def _dollars(cents: int) -> float:
    return cents / 100


def _derived_id(prefix: str, key: str) -> str:
    # Ids derive from the idempotency key, so a retried call would name the same object.
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def reservation_id_for(idempotency_key: str) -> str:
    """The id ``reserve_capital`` gives the reservation made with this idempotency key.

    Known before the call, so a caller can undo a reservation whose result it never saw.
    """
    return _derived_id("res", idempotency_key)


def order_id_for(idempotency_key: str) -> str:
    """The id ``place_order`` (or ``execute_trade``) gives the order placed with this key."""
    return _derived_id("ord", idempotency_key)


def _validated_side(side: object, quantity: int, price: float | None) -> Side:
    try:
        parsed = Side(side)
    except ValueError:
        valid = [s.value for s in Side]
        raise InvalidBrokerRequestError(f"unknown side {side!r}; use one of {valid}") from None
    if not isinstance(quantity, int) or quantity < 1:
        raise InvalidBrokerRequestError(f"quantity must be a whole number >= 1, got {quantity!r}")
    if price is not None and price <= 0:
        raise InvalidBrokerRequestError(f"price must be positive, got {price!r}")
    return parsed


class PaperLedger:
    """The broker's synchronous core: every operation is one SQLite transaction.

    Accounts open on first use with ``starting_cash``. Orders placed but not confirmed fill on
    their own when polled: after ``fill_after_checks`` status checks, or once ``fill_after`` has
    passed on ``clock`` since they were placed (whichever is configured and comes first).

    Args:
        path: the SQLite file; created with its tables if missing.
        starting_cash: cash of an account the first time it is used.
        fill_after_checks: status checks after which a pending order fills (None: never).
        fill_after: time after placement at which a pending order fills (None: never).
        clock: "now" for ``fill_after`` and for simulated prices; wall-clock UTC by default.
        price_source: price of a symbol when an order gives none; the simulator's by default.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        starting_cash: float = 100_000.0,
        fill_after_checks: int | None = 2,
        fill_after: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
        price_source: Callable[[str], float] | None = None,
    ) -> None:
        self.path = Path(path)
        self.starting_cash = starting_cash
        self.fill_after_checks = fill_after_checks
        self.fill_after = fill_after
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        market = SimulatedMarket()
        self._price_source = price_source or (lambda s: market.price_at(s, self._clock()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block writers
            conn.executescript(LEDGER_SCHEMA)

    # ------------------------------------------------------------------ mutating operations

    def reserve_capital(self, request: ReserveCapitalRequest) -> Reservation:
        """Move ``amount`` from cash to reserved. Raises InsufficientFundsError."""
        amount = _cents(request.amount)
        if amount <= 0:
            raise InvalidBrokerRequestError(f"amount must be positive, got {request.amount!r}")
        reservation = Reservation(
            reservation_id_for(request.idempotency_key),
            request.account_id,
            _dollars(amount),
            ReservationStatus.ACTIVE,
        )

        def apply(conn: sqlite3.Connection) -> Reservation:
            cash, _ = self._balances(conn, request.account_id)
            if cash < amount:
                raise InsufficientFundsError(
                    f"account {request.account_id!r} has {_dollars(cash):,.2f} cash, cannot "
                    f"reserve {request.amount:,.2f}; reserve less or add cash"
                )
            self._adjust(conn, request.account_id, cash=-amount, reserved=amount)
            _insert(conn, "reservations", {**_row(reservation), "amount": amount})
            return reservation

        return self._once("reserve_capital", request, Reservation, apply)

    def release_capital(self, request: ReleaseCapitalRequest) -> Reservation | None:
        """Return an ACTIVE reservation to cash; a consumed or released one is left as it is.

        None when the reservation was never made and the request says ``missing_ok``.
        """

        def apply(conn: sqlite3.Connection) -> Reservation | None:
            if request.missing_ok and not self._has(conn, "reservations", request.reservation_id):
                return None
            reservation = self._reservation(conn, request.reservation_id)
            if reservation.status is ReservationStatus.ACTIVE:
                amount = _cents(reservation.amount)
                self._adjust(conn, reservation.account_id, cash=amount, reserved=-amount)
                self._set_reservation(conn, request.reservation_id, ReservationStatus.RELEASED)
            return self._reservation(conn, request.reservation_id)

        return self._once("release_capital", request, Optional[Reservation], apply)

    def place_order(self, request: OrderRequest) -> Order:
        """Record a PENDING order after checking cash (buy) or holding (sell)."""
        order = self._new_order(
            request, request.limit_price, request.limit_price, request.reservation_id
        )

        def apply(conn: sqlite3.Connection) -> Order:
            self._place(conn, order)
            return order

        return self._once("place_order", request, Order, apply)

    def cancel_order(self, request: CancelOrderRequest) -> Order | None:
        """Cancel a PENDING order; an already cancelled or rejected one is returned as is.

        None when the order was never placed and the request says ``missing_ok``.
        """

        def apply(conn: sqlite3.Connection) -> Order | None:
            if request.missing_ok and not self._has(conn, "orders", request.order_id):
                return None
            order = self._order(conn, request.order_id)
            if order.status is OrderStatus.FILLED:
                raise OrderNotCancellableError(
                    f"order {order.order_id!r} is already filled and cannot be cancelled; "
                    "compensate with an opposite order instead"
                )
            if order.status is OrderStatus.PENDING:
                self._set_order(conn, order.order_id, status=OrderStatus.CANCELLED.value)
            return self._order(conn, order.order_id)

        return self._once("cancel_order", request, Optional[Order], apply)

    def confirm_execution(self, request: ConfirmExecutionRequest) -> Fill:
        """Fill a PENDING order; for an order that already filled, return its fill."""
        if request.fill_price is not None and request.fill_price <= 0:
            raise InvalidBrokerRequestError(
                f"fill_price must be positive, got {request.fill_price!r}"
            )

        def apply(conn: sqlite3.Connection) -> Fill:
            order = self._order(conn, request.order_id)
            if order.status is OrderStatus.FILLED:
                return self._fill_of(conn, order.order_id)
            if order.status is not OrderStatus.PENDING:
                raise OrderNotFillableError(
                    f"order {order.order_id!r} is {order.status.value} and cannot be filled; "
                    "place a new order"
                )
            price = request.fill_price or order.limit_price or order.reference_price
            return self._fill(conn, order, price)

        return self._once("confirm_execution", request, Fill, apply)

    def execute_trade(self, request: ExecuteTradeRequest) -> TradeExecution:
        """Place and fill an order in one transaction."""
        order = self._new_order(request, request.price)

        def apply(conn: sqlite3.Connection) -> TradeExecution:
            self._place(conn, order)
            fill = self._fill(conn, order, order.reference_price)
            return TradeExecution(
                ExecutionStatus.FILLED,
                fill.symbol,
                fill.side,
                fill.quantity,
                fill.price,
                fill.notional,
                order_id=order.order_id,
                fill_id=fill.fill_id,
            )

        return self._once("execute_trade", request, TradeExecution, apply)

    def order_status(self, request: OrderStatusRequest) -> Order:
        """The order, after counting this check; a due PENDING order fills (or is REJECTED
        when the account can no longer pay) before it is returned."""
        with self._transaction() as conn:
            order = self._order(conn, request.order_id)
            if order.status is not OrderStatus.PENDING:
                return order
            checks = order.status_checks + 1
            self._set_order(conn, order.order_id, status_checks=checks)
            if self._due(conn, order.order_id, checks):
                try:
                    self._fill(conn, order, order.limit_price or order.reference_price)
                except BrokerError as error:
                    self._set_order(
                        conn, order.order_id, status=OrderStatus.REJECTED.value, reason=str(error)
                    )
            return self._order(conn, order.order_id)

    # ------------------------------------------------------------------ the account's owner

    def deposit(self, account_id: str, amount: float) -> AccountSnapshot:
        """Add ``amount`` (> 0) to the account's cash: paper money, outside any workflow."""
        if not amount > 0:
            raise InvalidBrokerRequestError(f"a deposit must be positive, got {amount!r}")
        with self._transaction() as conn:
            self._balances(conn, account_id)  # opens the account if new
            self._adjust(conn, account_id, cash=_cents(amount))
        return self.account(account_id)

    def top_up(self, account_id: str, floor: float) -> float:
        """Deposit what brings the account's cash up to ``floor``; returns what was added.

        One transaction, so two runs topping up at once add the difference once.
        """
        with self._transaction() as conn:
            cash, _ = self._balances(conn, account_id)
            missing = max(0, _cents(floor) - cash)
            self._adjust(conn, account_id, cash=missing)
        return _dollars(missing)

    def clear(self) -> None:
        """Forget every account, order, fill and idempotency key (accounts reopen fresh)."""
        with self._transaction() as conn:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")  # fixed table names

    # ------------------------------------------------------------------ inspection

    def open_account(self, account_id: str, cash: float) -> AccountSnapshot:
        """Create ``account_id`` with ``cash`` unless it exists (test and demo set-up)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO accounts VALUES (?, ?, 0)", (account_id, _cents(cash))
            )
        return self.account(account_id)

    def account(self, account_id: str = DEFAULT_ACCOUNT) -> AccountSnapshot:
        """Cash, reserved money and positions of ``account_id`` (opened if new)."""
        with self._transaction() as conn:
            cash, reserved = self._balances(conn, account_id)
            rows = conn.execute(
                "SELECT symbol, quantity, cost FROM positions WHERE account_id = ? ORDER BY symbol",
                (account_id,),
            ).fetchall()
        positions = [
            Position(symbol, quantity, round(cost / 100 / quantity, 4), _dollars(cost))
            for symbol, quantity, cost in rows
        ]
        return AccountSnapshot(account_id, _dollars(cash), _dollars(reserved), positions)

    def reservations(self, account_id: str | None = None) -> list[Reservation]:
        """Every reservation, oldest first, of one account or all."""
        return [_reservation_from(row) for row in self._select("reservations", account_id)]

    def open_reservations(self, account_id: str | None = None) -> list[Reservation]:
        """ACTIVE reservations, of one account or all."""
        return [r for r in self.reservations(account_id) if r.status is ReservationStatus.ACTIVE]

    def fills(self, account_id: str | None = None) -> list[Fill]:
        """Every fill, oldest first, of one account or all."""
        return [_fill_from(row) for row in self._select("fills", account_id)]

    def orders(self, account_id: str | None = None) -> list[Order]:
        """Every order, oldest first, of one account or all."""
        return [_order_from(row) for row in self._select("orders", account_id)]

    # ------------------------------------------------------------------ audit

    def audit(
        self, funding: Mapping[str, float] | None = None, *, settled: bool = False
    ) -> list[str]:
        """Check that the ledger adds up; return one line per violation (empty: it does).

        The fills are the record of what happened; everything else must agree with them:

        - each account's cash plus reserved money equals its funding plus what its sales
          brought in less what its buys cost (no money made or lost outside a fill);
        - each position's quantity and cost are what replaying the fills with average-cost
          accounting gives, so cash plus positions at fill prices equals the funding plus
          the realised results of the sales;
        - the reserved money equals the sum of the ACTIVE reservations;
        - no order has more than one fill, every fill matches its order (same side, symbol,
          quantity) and that order is FILLED, and every FILLED order has its fill;
        - every idempotency key that placed an order or made a reservation left that order or
          reservation, and every consumed reservation paid for a filled buy;
        - with ``settled`` (no workflow in flight), no reservation is still ACTIVE and no order
          is still PENDING.

        Args:
            funding: the cash each account was given (opening cash plus deposits), by account
                id; an account not named is taken to have been given ``starting_cash``.
            settled: also flag money and orders left half-way.
        """
        funding = dict(funding or {})
        problems: list[str] = []
        with self._transaction() as conn:
            accounts = {
                row["account_id"]: (int(row["cash"]), int(row["reserved"]))
                for row in conn.execute("SELECT * FROM accounts ORDER BY account_id")
            }
            orders = {row["order_id"]: row for row in conn.execute("SELECT * FROM orders")}
            fills = conn.execute("SELECT * FROM fills ORDER BY rowid").fetchall()
            positions = {
                (row["account_id"], row["symbol"]): (int(row["quantity"]), int(row["cost"]))
                for row in conn.execute("SELECT * FROM positions")
            }
            reservations = {
                row["reservation_id"]: row for row in conn.execute("SELECT * FROM reservations")
            }
            keys = conn.execute("SELECT key, operation FROM idempotency").fetchall()
        from .ledger_audit import audit_fills, audit_keys, audit_money  # it imports this module

        problems += audit_fills(orders, fills)
        problems += audit_money(
            accounts, fills, positions, reservations, funding, _cents(self.starting_cash)
        )
        problems += audit_keys(keys, orders, reservations)
        if settled:
            problems += [
                f"reservation {rid!r} of {_dollars(int(row['amount'])):,.2f} is still ACTIVE"
                for rid, row in sorted(reservations.items())
                if row["status"] == ReservationStatus.ACTIVE.value
            ]
            problems += [
                f"order {oid!r} is still PENDING"
                for oid, row in sorted(orders.items())
                if row["status"] == OrderStatus.PENDING.value
            ]
        return problems

    # ------------------------------------------------------------------ internals

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # A commit is on disk before the call returns, so before the activity reports success:
        # a worker killed afterwards (or the machine losing power) cannot take the effect back.
        conn.execute("PRAGMA synchronous=FULL")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            # IMMEDIATE takes the write lock up front, so the idempotency check and the effect
            # it guards cannot interleave with another caller's.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _once(
        self,
        operation: str,
        request: Any,
        result_type: Any,
        apply: Callable[[sqlite3.Connection], _T],
    ) -> _T:
        """Run ``apply`` once per idempotency key; repeats get the stored first result.

        ``result_type`` is what ``apply`` returns (a class, or ``Optional[...]``), to decode
        the stored result.
        """
        key: str = request.idempotency_key
        if not key or not key.strip():
            raise InvalidBrokerRequestError(
                f"{operation} needs a non-empty idempotency_key; derive one from the workflow id "
                "and step, e.g. f'{workflow_id}-reserve'"
            )
        # missing_ok says what to do when there is nothing to undo, not what to undo: a
        # request repeated with it is the same request.
        arguments = {
            k: v for k, v in asdict(request).items() if k not in ("idempotency_key", "missing_ok")
        }
        fingerprint = hashlib.sha256(
            json.dumps([operation, arguments], sort_keys=True, cls=AdvancedJSONEncoder).encode()
        ).hexdigest()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT operation, fingerprint, result FROM idempotency WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                if row["fingerprint"] != fingerprint:
                    raise IdempotencyKeyConflictError(
                        f"idempotency key {key!r} was already used for {row['operation']} with "
                        f"other arguments; use a new key for each distinct {operation} request"
                    )
                stored: _T = value_to_type(result_type, json.loads(row["result"]))
                return stored
            result = apply(conn)
            result_json = json.dumps(result, cls=AdvancedJSONEncoder)
            _insert(
                conn,
                "idempotency",
                {
                    "key": key,
                    "operation": operation,
                    "fingerprint": fingerprint,
                    "result": result_json,
                },
            )
            return result

    def _balances(self, conn: sqlite3.Connection, account_id: str) -> tuple[int, int]:
        conn.execute(
            "INSERT OR IGNORE INTO accounts VALUES (?, ?, 0)",
            (account_id, _cents(self.starting_cash)),
        )
        row = conn.execute(
            "SELECT cash, reserved FROM accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        return int(row["cash"]), int(row["reserved"])

    @staticmethod
    def _adjust(
        conn: sqlite3.Connection, account_id: str, cash: int = 0, reserved: int = 0
    ) -> None:
        conn.execute(
            "UPDATE accounts SET cash = cash + ?, reserved = reserved + ? WHERE account_id = ?",
            (cash, reserved, account_id),
        )

    def _new_order(
        self,
        request: OrderRequest | ExecuteTradeRequest,
        price: float | None,
        limit_price: float | None = None,
        reservation_id: str | None = None,
    ) -> Order:
        """The PENDING order ``request`` asks for, at ``price`` or else the market's."""
        side = _validated_side(request.side, request.quantity, price)
        return Order(
            order_id_for(request.idempotency_key),
            request.account_id,
            request.symbol,
            side,
            request.quantity,
            OrderStatus.PENDING,
            reference_price=price or self._price_source(request.symbol),
            limit_price=limit_price,
            reservation_id=reservation_id,
        )

    def _place(self, conn: sqlite3.Connection, order: Order) -> None:
        """Record a new order, once the account can pay (buy) or holds the shares (sell)."""
        self._check_affordable(conn, order, order.reference_price)
        _insert(conn, "orders", {**_row(order), "placed_at": self._clock().isoformat()})

    def _check_affordable(self, conn: sqlite3.Connection, order: Order, price: float) -> None:
        cash, _ = self._balances(conn, order.account_id)
        if order.side is Side.SELL:
            held = self._held(conn, order.account_id, order.symbol)[0]
            if held < order.quantity:
                raise InsufficientPositionError(
                    f"account {order.account_id!r} holds {held} {order.symbol}, cannot sell "
                    f"{order.quantity}; sell at most {held}"
                )
            return
        available = cash
        if order.reservation_id is not None:
            reservation = self._reservation(conn, order.reservation_id)
            if reservation.account_id != order.account_id:
                raise InvalidBrokerRequestError(
                    f"reservation {reservation.reservation_id!r} belongs to account "
                    f"{reservation.account_id!r}, not {order.account_id!r}"
                )
            if reservation.status is ReservationStatus.ACTIVE:
                available += _cents(reservation.amount)
        needed = _cents(order.quantity * price)
        if available < needed:
            raise InsufficientFundsError(
                f"account {order.account_id!r} can pay {_dollars(available):,.2f} but "
                f"{order.quantity} {order.symbol} at {price:,.2f} costs {_dollars(needed):,.2f}; "
                "buy fewer shares"
            )

    def _fill(self, conn: sqlite3.Connection, order: Order, price: float) -> Fill:
        # Every check happens before the first write, so a caller may catch a BrokerError and
        # carry on in the same transaction (order_status turns it into a REJECTED order).
        self._check_affordable(conn, order, price)
        notional = _cents(order.quantity * price)
        if order.side is Side.BUY:
            if order.reservation_id is not None:
                reservation = self._reservation(conn, order.reservation_id)
                if reservation.status is ReservationStatus.ACTIVE:
                    # The whole reservation returns to cash; the fill then pays from cash.
                    amount = _cents(reservation.amount)
                    self._adjust(conn, order.account_id, cash=amount, reserved=-amount)
                    self._set_reservation(
                        conn, reservation.reservation_id, ReservationStatus.CONSUMED
                    )
            conn.execute(
                "INSERT INTO positions VALUES (?, ?, ?, ?) ON CONFLICT (account_id, symbol) DO "
                "UPDATE SET quantity = quantity + excluded.quantity, cost = cost + excluded.cost",
                (order.account_id, order.symbol, order.quantity, notional),
            )
            self._adjust(conn, order.account_id, cash=-notional)
        else:
            held, cost = self._held(conn, order.account_id, order.symbol)
            sold_cost = round(cost * order.quantity / held)  # average-cost accounting
            conn.execute(
                "UPDATE positions SET quantity = quantity - ?, cost = cost - ? "
                "WHERE account_id = ? AND symbol = ?",
                (order.quantity, sold_cost, order.account_id, order.symbol),
            )
            conn.execute("DELETE FROM positions WHERE quantity = 0")
            self._adjust(conn, order.account_id, cash=notional)
        self._set_order(
            conn,
            order.order_id,
            status=OrderStatus.FILLED.value,
            filled_quantity=order.quantity,
            average_price=price,
        )
        fill_id = "fill-" + order.order_id.removeprefix("ord-")
        fill = Fill(
            fill_id,
            order.order_id,
            order.account_id,
            order.symbol,
            order.side,
            order.quantity,
            price,
            _dollars(notional),
        )
        _insert(conn, "fills", {**_row(fill), "notional": notional})
        return fill

    def _due(self, conn: sqlite3.Connection, order_id: str, checks: int) -> bool:
        if self.fill_after_checks is not None and checks >= self.fill_after_checks:
            return True
        if self.fill_after is not None:
            placed = conn.execute(
                "SELECT placed_at FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()["placed_at"]
            return self._clock() >= datetime.fromisoformat(placed) + self.fill_after
        return False

    @staticmethod
    def _held(conn: sqlite3.Connection, account_id: str, symbol: str) -> tuple[int, int]:
        """(quantity, cost in cents) held of ``symbol``."""
        row = conn.execute(
            "SELECT quantity, cost FROM positions WHERE account_id = ? AND symbol = ?",
            (account_id, symbol),
        ).fetchone()
        return (int(row["quantity"]), int(row["cost"])) if row else (0, 0)

    @staticmethod
    def _order(conn: sqlite3.Connection, order_id: str) -> Order:
        row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if row is None:
            raise UnknownOrderError(
                f"no order {order_id!r}; use the order_id that place_order returned"
            )
        return _order_from(row)

    @staticmethod
    def _set_order(conn: sqlite3.Connection, order_id: str, **values: object) -> None:
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        conn.execute(
            f"UPDATE orders SET {assignments} WHERE order_id = :order_id",
            {**values, "order_id": order_id},
        )

    @staticmethod
    def _fill_of(conn: sqlite3.Connection, order_id: str) -> Fill:
        return _fill_from(
            conn.execute("SELECT * FROM fills WHERE order_id = ?", (order_id,)).fetchone()
        )

    @staticmethod
    def _has(conn: sqlite3.Connection, table: str, object_id: str) -> bool:
        """Whether ``table`` (``orders`` or ``reservations``) holds ``object_id``."""
        column = {"orders": "order_id", "reservations": "reservation_id"}[table]
        query = f"SELECT 1 FROM {table} WHERE {column} = ?"  # noqa: S608 - fixed names only
        return conn.execute(query, (object_id,)).fetchone() is not None

    @staticmethod
    def _reservation(conn: sqlite3.Connection, reservation_id: str) -> Reservation:
        row = conn.execute(
            "SELECT * FROM reservations WHERE reservation_id = ?", (reservation_id,)
        ).fetchone()
        if row is None:
            raise UnknownReservationError(
                f"no reservation {reservation_id!r}; use the reservation_id that "
                "reserve_capital returned"
            )
        return _reservation_from(row)

    @staticmethod
    def _set_reservation(
        conn: sqlite3.Connection, reservation_id: str, status: ReservationStatus
    ) -> None:
        conn.execute(
            "UPDATE reservations SET status = ? WHERE reservation_id = ?",
            (status.value, reservation_id),
        )

    def _select(self, table: str, account_id: str | None) -> list[sqlite3.Row]:
        with self._transaction() as conn:
            return conn.execute(
                f"SELECT * FROM {table} WHERE ? IS NULL OR account_id = ? ORDER BY rowid",
                (account_id, account_id),
            ).fetchall()


# Table and column names below come from this module's dataclasses, never from callers, so
# building SQL text from them is safe; values always travel as parameters.


def _row(record: Any) -> dict[str, Any]:
    """A dataclass as SQL parameters: enums by value."""
    return {k: v.value if isinstance(v, Enum) else v for k, v in asdict(record).items()}


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    placeholders = ", ".join(f":{column}" for column in values)
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def _columns(cls: Any, row: sqlite3.Row) -> dict[str, Any]:
    return {f.name: row[f.name] for f in fields(cls)}


def _order_from(row: sqlite3.Row) -> Order:
    values = _columns(Order, row)
    return Order(**{**values, "side": Side(row["side"]), "status": OrderStatus(row["status"])})


def _fill_from(row: sqlite3.Row) -> Fill:
    values = _columns(Fill, row)
    return Fill(**{**values, "side": Side(row["side"]), "notional": _dollars(row["notional"])})


def _reservation_from(row: sqlite3.Row) -> Reservation:
    values = _columns(Reservation, row)
    status = ReservationStatus(row["status"])
    return Reservation(**{**values, "amount": _dollars(row["amount"]), "status": status})
