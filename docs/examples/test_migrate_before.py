"""Before: the trading desk tested by hand with the SDK alone (docs/how-to/migrate.md).

Only temporalio and pytest-asyncio: an environment per test, a worker, a task queue and
workflow ids made up by hand, activities and the child workflow replaced by look-alikes
registered under the real names, the replay check written out. (The one line from this
project finds the test server's binary without downloading it; see the guide.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from pytest_temporal_agents.servers import TIME_SKIPPING, find_binary
from trading_desk import OrderApproval, Quote, Research, TradeDesk

#: Calls the fake activities saw, as (activity name, arguments); reset by each test.
calls: list[tuple[str, tuple[object, ...]]] = []


@activity.defn(name="fetch_quote")
async def fake_fetch_quote(symbol: str) -> Quote:
    calls.append(("fetch_quote", (symbol,)))
    return Quote(symbol, 189.5)


@activity.defn(name="place_order")
async def fake_place_order(symbol: str, quantity: int) -> str:
    calls.append(("place_order", (symbol, quantity)))
    return f"ord-{symbol}-{quantity}"


@activity.defn(name="stamp_trade")
async def fake_stamp_trade(symbol: str) -> str:
    calls.append(("stamp_trade", (symbol,)))
    return f"{symbol} ticket"


@workflow.defn(name="ResearchAgent")
class FakeResearchAgent:
    """Stands in for the child workflow: registered under its name, returns a fixed answer."""

    @workflow.run
    async def run(self, symbol: str) -> Research:
        return Research(symbol, "strong quarter", 0.9)


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    calls.clear()
    server = find_binary(TIME_SKIPPING)  # or let the SDK download it (CI needs the network)
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server)) as env:
        yield env


async def assert_replays(env: WorkflowEnvironment, handle: WorkflowHandle, workflows: list[type]) -> None:
    history = await handle.fetch_history()
    await Replayer(workflows=workflows).replay_workflow(history)  # raises on nondeterminism


async def test_a_confident_desk_buys(env: WorkflowEnvironment) -> None:
    task_queue = f"desk-{uuid.uuid4()}"
    workflows = [TradeDesk, FakeResearchAgent]
    async with Worker(
        env.client, task_queue=task_queue, workflows=workflows, activities=[fake_fetch_quote, fake_place_order]
    ):
        handle = await env.client.start_workflow(
            TradeDesk.run, "AAPL", id=f"desk-{uuid.uuid4()}", task_queue=task_queue
        )
        result = await asyncio.wait_for(handle.result(), timeout=30)  # never hang the suite

    assert result == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    assert calls == [("fetch_quote", ("AAPL",)), ("place_order", ("AAPL", 10))]
    await assert_replays(env, handle, workflows)


async def test_an_approval_is_signalled_and_queried(env: WorkflowEnvironment) -> None:
    task_queue = f"approval-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=task_queue, workflows=[OrderApproval], activities=[fake_stamp_trade]):
        handle = await env.client.start_workflow(
            OrderApproval.run, "MSFT", id=f"approval-{uuid.uuid4()}", task_queue=task_queue
        )
        await env.sleep(timedelta(hours=2))  # skips two hours of the server's clock
        assert await handle.query(OrderApproval.status) == "waiting"
        await handle.signal(OrderApproval.approve, "risk desk")
        result = await asyncio.wait_for(handle.result(), timeout=30)

    assert result == "MSFT ticket, approved by risk desk"
    assert calls == [("stamp_trade", ("MSFT",))]
    await assert_replays(env, handle, [OrderApproval])


async def test_an_unapproved_order_expires_after_a_day(env: WorkflowEnvironment) -> None:
    task_queue = f"approval-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=task_queue, workflows=[OrderApproval], activities=[fake_stamp_trade]):
        result = await asyncio.wait_for(
            env.client.execute_workflow(
                OrderApproval.run, "TSLA", id=f"approval-{uuid.uuid4()}", task_queue=task_queue
            ),
            timeout=30,
        )  # the day-long wait is skipped while the client waits for the result

    assert result == "TSLA: expired"
    assert calls == []
