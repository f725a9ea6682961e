"""The paper account outside any workflow: what ``trading-agents account`` shows and changes,
and the top-up that gives every ``run`` enough cash to trade.

Why a top-up: the patterns size their trades from the account's cash, and the ledger keeps
positions between runs (a broker that forgot them would let a ``SELL`` of shares never bought
through). Run one pattern after another on one account and the first few spend the cash; the
later ones then size every trade to zero and skip it. So before each run's workflow starts,
``run`` deposits what brings the account's cash back up to ``RUN_FLOOR``: every pattern starts
from at least the cash a fresh account has, and what earlier runs bought is kept.

A ledger file written by another version (other tables or columns) is refused with one line
that names the fix, instead of failing later inside an activity.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from .cluster import CliError
from .display import scalar
from .ledger import DEFAULT_ACCOUNT, LEDGER_SCHEMA, PaperLedger
from .models import AccountSnapshot, Order

RUN_FLOOR = 100_000.0
"""Cash every ``run`` starts with at least: a fresh account's starting cash."""

LEDGER_FROM_ANOTHER_VERSION = (
    "the paper ledger {path} was written by another version of trading-agents ({problem}); "
    "start afresh with `trading-agents account --reset` (it replaces the file), "
    "or pass another --state-dir"
)
LEDGER_UNREADABLE = (
    "the paper ledger {path} cannot be read as SQLite ({reason}); move it away, or "
    "`trading-agents account --reset` replaces it"
)


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    ]
    return {
        table: [row[1] for row in conn.execute(f"PRAGMA table_info({table!r})").fetchall()]
        for table in tables
    }


def ledger_problem(path: Path) -> str | None:
    """What makes ``path`` unlike the ledger this version writes, or None (also: no file yet).

    Raises:
        CliError: the file is not an SQLite database at all.
    """
    if not path.exists():
        return None
    expected_db = sqlite3.connect(":memory:")
    try:
        expected_db.executescript(LEDGER_SCHEMA)
        expected = _columns(expected_db)
    finally:
        expected_db.close()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = _columns(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise CliError(LEDGER_UNREADABLE.format(path=path, reason=error)) from error
    if not found:
        return None  # an empty file: the ledger creates its tables
    for table, columns in expected.items():
        if table not in found:
            return f"no table {table!r}"
        if found[table] != columns:
            return f"table {table!r} has columns {', '.join(found[table])}"
    return None


def open_ledger(path: Path) -> PaperLedger:
    """The ledger at ``path`` (created if missing).

    Raises:
        CliError: the file is not this version's ledger.
    """
    problem = ledger_problem(path)
    if problem is not None:
        raise CliError(LEDGER_FROM_ANOTHER_VERSION.format(path=path, problem=problem))
    return PaperLedger(path)


def fund_run(path: Path, floor: float = RUN_FLOOR, account_id: str = DEFAULT_ACCOUNT) -> float:
    """Top the account's cash up to ``floor`` before a run; returns the amount deposited."""
    return open_ledger(path).top_up(account_id, floor)


def reset(path: Path) -> None:
    """Back to a fresh account: this version's ledger is emptied in place (a worker that has
    it open keeps working); a file of another version, or not SQLite at all, is replaced."""
    try:
        problem = ledger_problem(path)
    except CliError:
        problem = "not SQLite"
    if problem is None:
        PaperLedger(path).clear()
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    PaperLedger(path)


def describe(snapshot: AccountSnapshot, orders: list[Order], *, latest: int = 10) -> str:
    """The ``account`` output: cash, reserved, positions, the order count and latest orders."""
    lines = [
        f"Paper account {snapshot.account_id!r}",
        f"  cash:      {scalar(snapshot.cash)}",
        f"  reserved:  {scalar(snapshot.reserved)}",
        f"  positions: {len(snapshot.positions) or 'none'}",
    ]
    for position in snapshot.positions:
        lines.append(
            f"    {position.symbol:<6} {position.quantity:>6} at {position.average_cost:,.2f} "
            f"(cost {scalar(position.cost_basis)})"
        )
    if not orders:
        lines.append("  orders:    none")
        return "\n".join(lines)
    counts = Counter(scalar(order.status) for order in orders)
    breakdown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    shown = orders[-latest:] if latest > 0 else []
    lines.append(f"  orders:    {len(orders)} ({breakdown})" + (", latest last:" if shown else ""))
    lines.extend(f"    {_order_line(order)}" for order in shown)
    return "\n".join(lines)


def _order_line(order: Order) -> str:
    price = order.average_price if order.average_price is not None else order.reference_price
    line = (
        f"{order.order_id}  {scalar(order.side):<4} {order.quantity:>5} {order.symbol:<6} "
        f"{scalar(order.status)} at {price:,.2f}"
    )
    return line + (f" ({order.reason})" if order.reason else "")
