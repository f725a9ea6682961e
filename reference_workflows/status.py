"""``trading-agents status``: server, workers and paper account at a glance.

It only looks: it starts no server (a server started just to be asked whether one runs would
answer yes), and whatever it finds, down or up, is a line of the report, not an error.
Workers are seen through the server: a worker polls its task queues, and the server reports
who polled each queue lately. That is the only view a server has of its workers, so a
worker stopped a few seconds ago can still show as a recent poller until the server forgets it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from . import cluster, paper_account
from .display import scalar
from .workers import TASK_QUEUES

LIVE_WITHIN = 75.0
"""Seconds since a poller's last poll within which it counts as a running worker: a worker
polls again as soon as its long poll (a minute at most) returns."""
NOT_RUNNING = (
    "not running on {root} (`trading-agents ui` or `trading-agents server` starts one; "
    "`run` starts one for its own length)"
)


async def report(state: cluster.StateDir, address: str | None, namespace: str) -> str:
    """The status lines: the server, each task queue's pollers, the account."""
    lines: list[str] = []
    client = await _server_line(state, address, namespace, lines)
    if client is not None:
        for queue in TASK_QUEUES:
            lines.append(f"Workers on {queue}: {await _pollers(client, queue)}")
    lines.append(f"Account: {_account_line(state)}")
    return "\n".join(lines)


async def _server_line(
    state: cluster.StateDir, address: str | None, namespace: str, lines: list[str]
) -> Client | None:
    if address is None:
        record = cluster.read_server_record(state)
        if record is None:
            lines.append("Server:  " + NOT_RUNNING.format(root=state.root))
            return None
        address = record.address
        where = f"dev server of pid {record.pid} (state in {state.root}), Web UI {record.ui_url}"
    else:
        where = f"cluster (namespace {namespace!r})"
    try:
        client = await cluster.connect(address, namespace, fix="is it up?")
    except cluster.CliError as error:
        lines.append(f"Server:  {address} does not answer: {error}")
        return None
    lines.append(f"Server:  {address}, {where}")
    return client


async def _pollers(client: Client, queue: str) -> str:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
            if queue == TASK_QUEUES[0]
            else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    now = datetime.now(timezone.utc)
    ages = sorted(
        max(0.0, (now - p.last_access_time.ToDatetime(tzinfo=timezone.utc)).total_seconds())
        for p in response.pollers
    )
    live = [age for age in ages if age <= LIVE_WITHIN]
    if live:
        return f"{_count(len(live), 'poller')}, last poll {live[0]:.0f}s ago"
    if ages:
        return f"none polling now (the last poll was {ages[0]:.0f}s ago)"
    return "none"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _account_line(state: cluster.StateDir) -> str:
    if not state.ledger.exists():
        return f"no ledger yet (the first run opens it with {scalar(paper_account.RUN_FLOOR)})"
    try:
        ledger = paper_account.open_ledger(state.ledger)
    except cluster.CliError as error:
        return str(error)
    snapshot = ledger.account()
    orders = len(ledger.orders(snapshot.account_id))
    return (
        f"cash {scalar(snapshot.cash)}, reserved {scalar(snapshot.reserved)}, "
        f"{_count(len(snapshot.positions), 'position')}, {_count(orders, 'order')} "
        f"({state.ledger})"
    )
