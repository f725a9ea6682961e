"""Workflows and activities for the mocking tests (test_mocks*, test_callbacks, test_clock).

A module of its own, importing only temporalio (and docs/examples/trading_desk.py, as light):
the sandbox re-imports a workflow's module for every run, and a test module (pytest, the
plugin...) costs half a second.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

# The how-to's market-data activity (its real code never runs: every test mocks it), and
# its result type, which the tests import from here.
from trading_desk import Quote as Quote
from trading_desk import fetch_quote


@dataclass
class Order:
    symbol: str
    quantity: int = 10


@dataclass
class Research:
    symbol: str
    sources: list[str] = field(default_factory=list)


@dataclass
class Report:
    symbol: str
    summary: str
    confidence: float


@activity.defn
def place_order(order: Order, dry_run: bool = False) -> str:
    """Sync: the mock of a sync activity works without a thread pool of its own."""
    raise AssertionError("the real place_order must not run in these tests")


@activity.defn
async def audit(text: str) -> None:
    return None


@workflow.defn
class TradeWorkflow:
    @workflow.run
    async def run(self, symbol: str) -> str:
        quote = await workflow.execute_activity(
            fetch_quote,
            symbol,
            start_to_close_timeout=timedelta(hours=1),
            # The test server skips no time while an activity waits for its retry: keep it short.
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1), maximum_attempts=3),
        )
        if quote.price > 100:
            return f"skip {quote.symbol} at {quote.price}"
        receipt = await workflow.execute_activity(
            place_order, args=[Order(quote.symbol), False], start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.execute_activity(audit, receipt, start_to_close_timeout=timedelta(seconds=10))
        return receipt


@workflow.defn
class TimedWorkflow:
    """Returns how much workflow time one fetch_quote call took."""

    @workflow.run
    async def run(self) -> float:
        before = workflow.now()
        await workflow.execute_activity(fetch_quote, "X", start_to_close_timeout=timedelta(days=1))
        return (workflow.now() - before).total_seconds()


@workflow.defn
class FanOutWorkflow:
    @workflow.run
    async def run(self) -> None:
        await asyncio.gather(*(
            workflow.execute_activity(audit, str(n), start_to_close_timeout=timedelta(seconds=5))
            for n in range(5)
        ))


# -- child workflows ------------------------------------------------------------------------


@workflow.defn
class ResearchAgent:
    @workflow.run
    async def run(self, research: Research, depth: int = 1) -> Report:
        raise ApplicationError("the real ResearchAgent must not run in these tests", non_retryable=True)


@workflow.defn
class DeskWorkflow:
    """Asks one research child per symbol, then audits; returns the summaries."""

    @workflow.run
    async def run(self, symbols: list[str]) -> list[str]:
        started = workflow.now()
        summaries = []
        for symbol in symbols:
            report = await workflow.execute_child_workflow(
                ResearchAgent.run,
                args=[Research(symbol, ["news"]), 2],
                id=f"{workflow.info().workflow_id}-{symbol}",
            )
            summaries.append(f"{report.symbol}: {report.summary} ({report.confidence})")
        await workflow.execute_activity(audit, "; ".join(summaries), start_to_close_timeout=timedelta(seconds=5))
        summaries.append(f"took {(workflow.now() - started).total_seconds() / 3600:.1f}h")
        return summaries


@workflow.defn
class ComposeWelcomeWorkflow:
    """A child that no worker of the test registers; its name is close to its parent's."""

    @workflow.run
    async def run(self, name: str) -> str:
        raise ApplicationError("the real ComposeWelcomeWorkflow must not run in these tests", non_retryable=True)


@workflow.defn
class WelcomeWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        welcome: str = await workflow.execute_child_workflow(
            ComposeWelcomeWorkflow.run, name, id=f"{workflow.info().workflow_id}-compose"
        )
        return welcome


@workflow.defn(name="external-pricing")
class ByNameParent:
    """Calls a child by type name only (implemented elsewhere, say in another language)."""

    @workflow.run
    async def run(self, symbol: str) -> float:
        price: float = await workflow.execute_child_workflow(
            "PricingService", symbol, id=f"{workflow.info().workflow_id}-pricing", result_type=float
        )
        return price


# -- delayed signals and queries --------------------------------------------------------------


@workflow.defn
class ApprovalGate:
    """Moves through stages on timers; waits up to a day for an approval signal."""

    def __init__(self) -> None:
        self.stage = "received"
        self.approved_by: str | None = None
        self.approved_after: float | None = None

    @workflow.run
    async def run(self) -> str:
        started = workflow.now()
        await workflow.sleep(timedelta(hours=1))
        self.stage = "reviewed"
        await workflow.sleep(timedelta(hours=2))
        self.stage = "awaiting approval"
        try:
            await workflow.wait_condition(lambda: self.approved_by is not None, timeout=timedelta(days=1))
        except asyncio.TimeoutError:
            return "expired"
        assert self.approved_after is not None
        return f"approved by {self.approved_by} at +{(self.approved_after - started.timestamp()) / 3600:.2f}h"

    @workflow.signal
    def approve(self, order: Order, who: str) -> None:
        self.approved_by = f"{who} for {order.quantity} {order.symbol}"
        self.approved_after = workflow.now().timestamp()

    @workflow.query
    def status(self) -> str:
        return self.stage

    @workflow.query
    def stage_of(self, prefix: str) -> str:
        return f"{prefix}{self.stage}"


# -- activity clock -------------------------------------------------------------------------


@activity.defn
async def stamp() -> dict[str, float]:
    """Reads the clocks, around a 10 ms sleep. (A dict: the SDK cannot decode a datetime
    field of a dataclass defined in a sandboxed workflow module.)"""
    before, wall_before = time.monotonic(), time.time()
    await asyncio.sleep(0.01)
    today = date.today()
    return {
        "aware": datetime.now(timezone.utc).timestamp(),
        "epoch": time.time(),
        "today": datetime(today.year, today.month, today.day, tzinfo=timezone.utc).timestamp(),
        "monotonic_step": time.monotonic() - before,
        "wall_step": time.time() - wall_before,
    }


@activity.defn
def stamp_in_thread() -> float:
    return time.time()


@workflow.defn
class StampWorkflow:
    """Sleeps a week, then returns its workflow time and what activities read as now."""

    @workflow.run
    async def run(self) -> list[float]:
        await workflow.sleep(timedelta(days=7))
        now = workflow.now().timestamp()
        stamps = await workflow.execute_activity(stamp, start_to_close_timeout=timedelta(seconds=10))
        threaded = await workflow.execute_activity(stamp_in_thread, start_to_close_timeout=timedelta(seconds=10))
        return [now, stamps["aware"], stamps["epoch"], threaded, stamps["monotonic_step"], stamps["wall_step"]]


@dataclass
class Event:
    name: str
    at: datetime


@activity.defn
async def record_event(event: Event) -> dict[str, float]:
    """Fails its first two attempts; the third reads the clocks and its argument's datetime
    field, decoded while the clock is frozen."""
    if activity.info().attempt < 3:
        raise ApplicationError(f"attempt {activity.info().attempt}")
    return {
        "event": event.at.timestamp(),
        "aware": datetime.now(timezone.utc).timestamp(),
        "epoch": time.time(),
    }


@workflow.defn
class EventWorkflow:
    """Sleeps two days, then records an event, retrying it at once."""

    @workflow.run
    async def run(self) -> dict[str, float]:
        await workflow.sleep(timedelta(days=2))
        return await workflow.execute_activity(
            record_event,
            Event("fill", workflow.now()),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1), backoff_coefficient=1.0),
        )


class Desk:
    """Activities as methods of a service object, registered bound (desk.submit)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @activity.defn
    async def submit(self, order: Order) -> str:
        raise AssertionError("the real Desk.submit must not run in these tests")


@workflow.defn
class SubmitWorkflow:
    @workflow.run
    async def run(self, symbol: str) -> str:
        return await workflow.execute_activity_method(
            Desk.submit, Order(symbol, 3), start_to_close_timeout=timedelta(seconds=10)
        )
