"""The checks behind ``PaperLedger.audit()``: the ledger's rows against a replay of its fills.

Each function takes rows already read in one transaction and returns one line per violation;
money is in integer cents, as the ledger stores it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from .ledger import _cents, _dollars, order_id_for, reservation_id_for
from .models import OrderStatus, ReservationStatus, Side

__all__ = ["audit_fills", "audit_keys", "audit_money"]


def audit_fills(orders: Mapping[str, sqlite3.Row], fills: Sequence[sqlite3.Row]) -> list[str]:
    """Fills against orders: one fill per order, matching it, and one per FILLED order."""
    problems: list[str] = []
    seen: set[str] = set()
    for fill in fills:
        order_id = fill["order_id"]
        if order_id in seen:
            problems.append(f"order {order_id!r} is filled twice (fill {fill['fill_id']!r})")
        seen.add(order_id)
        order = orders.get(order_id)
        if order is None:
            problems.append(f"fill {fill['fill_id']!r} is for no known order {order_id!r}")
            continue
        if order["status"] != OrderStatus.FILLED.value:
            problems.append(
                f"order {order_id!r} has fill {fill['fill_id']!r} but is {order['status']}"
            )
        for column in ("account_id", "symbol", "side", "quantity"):
            if fill[column] != order[column]:
                problems.append(
                    f"fill {fill['fill_id']!r} has {column} {fill[column]!r}, its order "
                    f"{order_id!r} {order[column]!r}"
                )
        if fill["notional"] != _cents(fill["quantity"] * fill["price"]):
            problems.append(
                f"fill {fill['fill_id']!r}: notional {_dollars(fill['notional']):,.2f} is not "
                f"{fill['quantity']} x {fill['price']}"
            )
    problems += [
        f"order {order_id!r} is FILLED but has no fill"
        for order_id, order in sorted(orders.items())
        if order["status"] == OrderStatus.FILLED.value and order_id not in seen
    ]
    return problems


def audit_money(
    accounts: Mapping[str, tuple[int, int]],
    fills: Sequence[sqlite3.Row],
    positions: Mapping[tuple[str, str], tuple[int, int]],
    reservations: Mapping[str, sqlite3.Row],
    funding: Mapping[str, float],
    starting_cents: int,
) -> list[str]:
    """Cash, reserved money and positions against a replay of the fills (all in cents)."""
    problems: list[str] = []
    flows: dict[str, int] = {}
    realised: dict[str, int] = {}
    replayed: dict[tuple[str, str], tuple[int, int]] = {}
    for fill in fills:
        account, key = fill["account_id"], (fill["account_id"], fill["symbol"])
        quantity, cost = replayed.get(key, (0, 0))
        notional = int(fill["notional"])
        if fill["side"] == Side.BUY.value:
            flows[account] = flows.get(account, 0) - notional
            replayed[key] = (quantity + fill["quantity"], cost + notional)
            continue
        if quantity < fill["quantity"]:
            problems.append(
                f"fill {fill['fill_id']!r} sells {fill['quantity']} {fill['symbol']} but "
                f"{account!r} held {quantity}"
            )
            quantity = fill["quantity"]  # go on replaying: the other checks still count
        sold_cost = round(cost * fill["quantity"] / quantity) if quantity else 0
        flows[account] = flows.get(account, 0) + notional
        realised[account] = realised.get(account, 0) + notional - sold_cost
        replayed[key] = (quantity - fill["quantity"], cost - sold_cost)
    replayed = {key: held for key, held in replayed.items() if held[0] != 0}
    for key in sorted(set(replayed) | set(positions)):
        if positions.get(key, (0, 0)) != replayed.get(key, (0, 0)):
            got, want = positions.get(key, (0, 0)), replayed.get(key, (0, 0))
            problems.append(
                f"position {key[1]} of {key[0]!r} is {got[0]} shares costing "
                f"{_dollars(got[1]):,.2f}; its fills give {want[0]} costing {_dollars(want[1]):,.2f}"
            )
    active: dict[str, int] = {}
    for row in reservations.values():
        if row["status"] == ReservationStatus.ACTIVE.value:
            active[row["account_id"]] = active.get(row["account_id"], 0) + int(row["amount"])
    for account, (cash, reserved) in sorted(accounts.items()):
        if cash < 0 or reserved < 0:
            problems.append(
                f"account {account!r} has negative money: cash {_dollars(cash):,.2f}, "
                f"reserved {_dollars(reserved):,.2f}"
            )
        given = _cents(funding[account]) if account in funding else starting_cents
        expected = given + flows.get(account, 0)
        if cash + reserved != expected:
            problems.append(
                f"account {account!r}: cash {_dollars(cash):,.2f} + reserved "
                f"{_dollars(reserved):,.2f} should be {_dollars(expected):,.2f} (funding "
                f"{_dollars(given):,.2f} plus sales less buys)"
            )
        if reserved != active.get(account, 0):
            problems.append(
                f"account {account!r} has {_dollars(reserved):,.2f} reserved but its ACTIVE "
                f"reservations add up to {_dollars(active.get(account, 0)):,.2f}"
            )
        held = sum(cost for (owner, _), (_, cost) in replayed.items() if owner == account)
        if cash + reserved + held != given + realised.get(account, 0):
            problems.append(
                f"account {account!r}: cash plus positions at fill prices is "
                f"{_dollars(cash + reserved + held):,.2f}, the funding plus realised results "
                f"{_dollars(given + realised.get(account, 0)):,.2f}"
            )
    return problems


def audit_keys(
    keys: Sequence[sqlite3.Row],
    orders: Mapping[str, sqlite3.Row],
    reservations: Mapping[str, sqlite3.Row],
) -> list[str]:
    """Every key that made an order or reservation left it; consumed reservations paid."""
    problems: list[str] = []
    for row in keys:
        key, operation = row["key"], row["operation"]
        if operation in ("place_order", "execute_trade") and order_id_for(key) not in orders:
            problems.append(f"idempotency key {key!r} ({operation}) left no order")
        if operation == "reserve_capital" and reservation_id_for(key) not in reservations:
            problems.append(f"idempotency key {key!r} (reserve_capital) left no reservation")
    paid = {
        order["reservation_id"]
        for order in orders.values()
        if order["status"] == OrderStatus.FILLED.value and order["side"] == Side.BUY.value
    }
    problems += [
        f"reservation {rid!r} is CONSUMED but no filled buy used it"
        for rid, row in sorted(reservations.items())
        if row["status"] == ReservationStatus.CONSUMED.value and rid not in paid
    ]
    return problems
