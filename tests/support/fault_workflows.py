"""Workflows and activities the fault tests run (a module the sandbox can import)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError

#: How many times each activity's real code ran (to tell a lost result from no run at all).
RUNS: dict[str, int] = {}

T = TypeVar("T")

POLICY = RetryPolicy(
    maximum_attempts=3,
    initial_interval=timedelta(seconds=1),
    non_retryable_error_types=["InsufficientFunds"],
)


def ran(name: str) -> None:
    RUNS[name] = RUNS.get(name, 0) + 1


@dataclass
class QuoteRequest:
    symbol: str
    exchange: str = "NYSE"


#: The request most fault tests send.
AAPL = QuoteRequest("AAPL")


@activity.defn
async def fetch_quote(request: QuoteRequest) -> float:
    ran("fetch_quote")
    return 100.0 + len(request.symbol)


@activity.defn
def fetch_quote_sync(request: QuoteRequest) -> float:
    ran("fetch_quote_sync")
    return 200.0 + len(request.symbol)


@activity.defn
async def heartbeating(request: QuoteRequest) -> str:
    """Heartbeats its progress; takes longer than a shortened heartbeat timeout."""
    ran("heartbeating")
    for step in range(4):
        activity.heartbeat(step)
        await asyncio.sleep(0.1)
    return f"done after {activity.info().heartbeat_details or 'no'} details"


@activity.defn
async def slow_quote(request: QuoteRequest) -> float:
    """Takes 0.4 s without heartbeating: longer than a shortened timeout."""
    ran("slow_quote")
    await asyncio.sleep(0.4)
    return 1.0


@activity.defn
async def step(n: int) -> int:
    ran("step")
    return n * 10


def outcome(err: BaseException) -> str:
    """What the workflow saw, as one comparable line (the cause of an ActivityError)."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError):
        return f"ApplicationError {cause.type} non_retryable={cause.non_retryable}: {cause.message}"
    if isinstance(cause, TimeoutError):
        return f"TimeoutError {cause.type.name if cause.type else None}"
    if isinstance(cause, CancelledError):
        return "CancelledError"
    return f"{type(cause).__name__}: {cause}"


async def call(fn: Callable[[QuoteRequest], Awaitable[T] | T], request: QuoteRequest) -> T:
    """Runs ``fn(request)`` as an activity under ``POLICY``, the retry policy the fault tests assume."""
    return await workflow.execute_activity(
        fn, request, start_to_close_timeout=timedelta(seconds=180), retry_policy=POLICY
    )


async def call_or_outcome(
    fn: Callable[[QuoteRequest], Awaitable[T] | T], request: QuoteRequest, done: Callable[[T], str]
) -> str:
    """``done(result)`` of :func:`call`, or the ``outcome`` of its failure."""
    try:
        result = await call(fn, request)
    except ActivityError as err:
        return outcome(err)
    return done(result)


@workflow.defn
class QuoteWorkflow:
    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        return await call_or_outcome(fetch_quote, request, lambda price: f"price {price}")


@workflow.defn
class SyncQuoteWorkflow:
    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        return await call_or_outcome(fetch_quote_sync, request, lambda price: f"price {price}")


@workflow.defn
class HeartbeatWorkflow:
    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        return await call_or_outcome(heartbeating, request, str)


@workflow.defn
class SlowQuoteWorkflow:
    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        return await call_or_outcome(slow_quote, request, lambda _: "ok")


@workflow.defn
class CompensatingWorkflow:
    """Cancellation: the saga way, compensating in a scope the cancellation cannot reach."""

    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        try:
            await call(fetch_quote, request)
        except (ActivityError, asyncio.CancelledError) as err:
            seen = outcome(err) if isinstance(err, ActivityError) else "asyncio.CancelledError"
            undone = await asyncio.shield(
                workflow.execute_activity(step, 7, start_to_close_timeout=timedelta(seconds=10))
            )
            return f"{seen}, compensated {undone}"
        return "not cancelled"


@workflow.defn
class StepsWorkflow:
    @workflow.run
    async def run(self, count: int) -> list[int]:
        results = []
        for n in range(count):
            results.append(
                await workflow.execute_activity(step, n, start_to_close_timeout=timedelta(seconds=180))
            )
        return results


@workflow.defn
class FanOutWorkflow:
    @workflow.run
    async def run(self, symbols: list[str]) -> list[str]:
        async def one(symbol: str) -> str:
            return f"{symbol}: {await call_or_outcome(fetch_quote, QuoteRequest(symbol), str)}"

        return list(await asyncio.gather(*(one(s) for s in symbols)))


@workflow.defn
class LocalQuoteWorkflow:
    @workflow.run
    async def run(self, request: QuoteRequest) -> str:
        try:
            # One attempt: a local activity's retries back off in real time, in the worker.
            price = await workflow.execute_local_activity(
                fetch_quote,
                request,
                start_to_close_timeout=timedelta(seconds=180),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except (ActivityError, ApplicationError, TimeoutError) as err:
            return f"{type(err).__name__} <- {outcome(err)}"
        return f"price {price}"


@workflow.defn
class RemoteQuoteWorkflow:
    """Fetches a quote from workers on another task queue (to hand its task to a poller)."""

    @workflow.run
    async def run(self, request: QuoteRequest, task_queue: str) -> float:
        return await workflow.execute_activity(
            fetch_quote,
            request,
            task_queue=task_queue,
            start_to_close_timeout=timedelta(seconds=180),
            retry_policy=POLICY,
        )
