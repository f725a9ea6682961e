"""Workers for the reference system's two task queues, as in the article's scaling section.

``TRADING_TASK_QUEUE`` runs every workflow and every activity: a workflow calls its activities on
its own task queue unless its input names ``market_data_task_queue``, so one worker there can run
any pattern alone. ``MARKET_DATA_TASK_QUEUE`` runs the market-data and analysis activities, for
workflows whose input routes them there; in production it is the queue to scale out on its own.
Both workers share one set of services, so they share the paper broker's ledger.

The trading analyst (an Agents SDK agent) runs on a third queue, ``ANALYST_TASK_QUEUE``, with
a worker of its own whose client carries temporalio's ``OpenAIAgentsPlugin`` (model calls as
activities, its own data converter), so the other patterns' workers need neither the SDK nor
the plugin: ``running_analyst``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import (
    MARKET_DATA_TASK_QUEUE,
    TRADING_TASK_QUEUE,
    create_activities,
    split_by_task_queue,
)
from .agents import Agents

TASK_QUEUES = (TRADING_TASK_QUEUE, MARKET_DATA_TASK_QUEUE)


def all_workflows() -> list[type]:
    """Every workflow class of every pattern module (imported on first use)."""
    from .workflows import ALL_WORKFLOWS

    return list(ALL_WORKFLOWS)


def build_workers(
    client: Client,
    *,
    ledger_path: str | Path,
    workflows: Sequence[type] | None = None,
    activities: Sequence[Callable[..., Any]] | None = None,
) -> list[Worker]:
    """One worker per task queue, not yet running.

    Args:
        client: the client the workers poll with.
        ledger_path: the paper broker's SQLite ledger (created on first use).
        workflows: workflow classes to register (default: every pattern's).
        activities: activities to register (default: ``create_activities(ledger_path=...)``).

    Returns:
        ``[trading worker, market-data worker]``.
    """
    workflows = all_workflows() if workflows is None else list(workflows)
    if activities is None:
        Path(ledger_path).parent.mkdir(parents=True, exist_ok=True)
        activities = create_activities(ledger_path=ledger_path)
    market_data, _trading = split_by_task_queue(activities)
    return [
        Worker(
            client,
            task_queue=TRADING_TASK_QUEUE,
            workflows=workflows,
            activities=list(activities),
        ),
        Worker(client, task_queue=MARKET_DATA_TASK_QUEUE, activities=market_data),
    ]


@asynccontextmanager
async def running_workers(
    client: Client,
    *,
    ledger_path: str | Path,
    workflows: Sequence[type] | None = None,
    activities: Sequence[Callable[..., Any]] | None = None,
) -> AsyncIterator[list[Worker]]:
    """Run the workers of :func:`build_workers` for the duration of the block.

    Leaving the block (normally, by error or by Ctrl-C's cancellation) shuts every worker down.
    """
    workers = build_workers(
        client, ledger_path=ledger_path, workflows=workflows, activities=activities
    )
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers


@asynccontextmanager
async def running_analyst(client: Client, agents: Agents) -> AsyncIterator[Client]:
    """Run the trading analyst's worker (``ANALYST_TASK_QUEUE``) for the block.

    Yields:
        A client like ``client`` with the analyst's plugin: start and follow the analyst's
        workflows with it, so that their payloads use the plugin's converter.

    Raises:
        ExtraMissingError: the Agents SDK (the ``[agents]`` extra) is not installed.
    """
    from .analyst import ANALYST_TASK_QUEUE, AnalystTools, analyst_plugin

    plugin = analyst_plugin()  # first: it names the [agents] extra when the SDK is missing
    from .workflows.analyst import TradingAnalystWorkflow

    analyst_client = Client(client.service_client, namespace=client.namespace, plugins=[plugin])
    worker = Worker(
        analyst_client,
        task_queue=ANALYST_TASK_QUEUE,
        workflows=[TradingAnalystWorkflow],
        activities=AnalystTools(agents).activities(),
    )
    async with worker:
        yield analyst_client
