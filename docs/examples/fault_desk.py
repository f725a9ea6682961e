"""A small trading desk for the fault-injection guide (docs/how-to/faults.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

#: Every order the paper exchange took, by idempotency key.
ORDERS: dict[str, list[str]] = {}


@dataclass
class Quote:
    symbol: str
    price: float


@activity.defn
async def fetch_quote(symbol: str) -> Quote:
    return Quote(symbol, 189.5)


@activity.defn
async def place_order(symbol: str, quantity: int, key: str) -> str:
    # Idempotent: a retried order (its first result lost) is not placed again.
    placed = ORDERS.setdefault(key, [])
    if not placed:
        placed.append(f"ord-{symbol}-{quantity}")
    return placed[0]


@workflow.defn
class BuyDesk:
    @workflow.run
    async def run(self, symbol: str) -> str:
        quote = await workflow.execute_activity(
            fetch_quote,
            symbol,
            start_to_close_timeout=timedelta(seconds=180),
            retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["MarketClosed"]),
        )
        order = await workflow.execute_activity(
            place_order,
            args=[symbol, 10, f"{workflow.info().workflow_id}:buy"],
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return f"bought 10 {symbol} at {quote.price} ({order})"
