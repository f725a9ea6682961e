"""A small trading desk: the workflows that docs/how-to/mocking.md tests.

Workflows live in a module of their own (not in the test file): Temporal's sandbox
re-imports a workflow's module for every run, and a small module is quick to import.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@dataclass
class Quote:
    symbol: str
    price: float


@dataclass
class Research:
    symbol: str
    summary: str
    confidence: float


@activity.defn
async def fetch_quote(symbol: str) -> Quote:
    raise RuntimeError("calls the market-data API: never in a unit test")


@activity.defn
def place_order(symbol: str, quantity: int) -> str:
    raise RuntimeError("calls the broker: never in a unit test")


@activity.defn
async def ask_model(prompt: str) -> str:
    raise RuntimeError("calls an LLM: never in a unit test")


@activity.defn
async def download_prices(symbols: list[str]) -> int:
    """Heartbeats its progress, so that a retry resumes where the last attempt stopped."""
    details = activity.info().heartbeat_details
    done = int(details[0]) if details else 0
    for _ in symbols[done:]:
        await asyncio.sleep(0)
        done += 1
        activity.heartbeat(done)
    return done


@activity.defn
def stamp_trade(symbol: str) -> str:
    """Writes the wall-clock time into the trade ticket."""
    return f"{symbol} ticket at {time.strftime('%Y-%m-%d %H:%M', time.gmtime(time.time()))}"


@workflow.defn
class ResearchAgent:
    @workflow.run
    async def run(self, symbol: str) -> Research:
        answer = await workflow.execute_activity(
            ask_model, f"Should we buy {symbol}?", start_to_close_timeout=timedelta(minutes=2)
        )
        return Research(symbol, answer, 0.5)


@workflow.defn
class TradeDesk:
    """Asks the research agent (a child workflow); buys 10 shares if it is confident."""

    @workflow.run
    async def run(self, symbol: str) -> str:
        research = await workflow.execute_child_workflow(ResearchAgent.run, symbol)
        if research.confidence < 0.7:
            return f"hold {symbol}: {research.summary}"
        quote = await workflow.execute_activity(
            fetch_quote,
            symbol,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10)),
        )
        order_id = await workflow.execute_activity(
            place_order, args=[symbol, 10], start_to_close_timeout=timedelta(seconds=10)
        )
        return f"bought 10 {symbol} at {quote.price} ({order_id})"


@workflow.defn
class OrderApproval:
    """Waits up to a day for a human's approval; a status query tells where it stands."""

    def __init__(self) -> None:
        self.approver: str | None = None

    @workflow.run
    async def run(self, symbol: str) -> str:
        try:
            await workflow.wait_condition(lambda: self.approver is not None, timeout=timedelta(days=1))
        except asyncio.TimeoutError:
            return f"{symbol}: expired"
        return await workflow.execute_activity(
            stamp_trade, symbol, start_to_close_timeout=timedelta(seconds=10)
        ) + f", approved by {self.approver}"

    @workflow.signal
    def approve(self, approver: str) -> None:
        self.approver = approver

    @workflow.query
    def status(self) -> str:
        return "approved" if self.approver else "waiting"
