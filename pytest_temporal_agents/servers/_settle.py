"""Waiting until a workflow has no workflow task (or activity) in flight.

Two things must not meet a task in flight on the Java test server: a termination (it leaks
a time-skipping lock; the harness's teardown and delayed callbacks settle first) and a query.

For queries: the Java test server attaches a query that arrives while a workflow task is
in flight to that task. When the task ends the run (continue-as-new, typically right after the signal
that asked for it), the worker's answer is refused ("workflow execution already
completed"): the query is lost, the caller waits for its deadline, and the lost query
leaves a time-skipping lock behind, so time stops skipping for the rest of the session.
Measured with the plain SDK (temporal-test-server 1.40): a query right after each signal
that made a workflow continue as new was lost 9 times in 10; the dev server lost none.

So, on that server only, the harness's client first waits until the workflow's latest
run (or the run the query names) has no workflow task in flight, then sends the query.
The wait is bounded: a workflow no worker polls would keep its task scheduled for ever,
and its query is sent anyway once :data:`SETTLE_LIMIT` has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from ..history import parse_events

#: How long a query waits, at most, for the workflow task in flight to end.
SETTLE_LIMIT = timedelta(seconds=5)
#: How long a termination (teardown, a delayed call called off) waits for one, at most.
TERMINATION_SETTLE = timedelta(seconds=2)


def task_in_flight(events: Sequence[HistoryEvent]) -> bool:
    """Whether the last workflow task scheduled in ``events`` has not ended yet."""
    return parse_events(events).workflow_task_in_flight


async def settle(
    handle: WorkflowHandle[Any, Any], limit: timedelta = SETTLE_LIMIT, *, activities: bool = False
) -> None:
    """Return once the run has no workflow task in flight (and, with ``activities``, no
    pending activity), or after ``limit``; at once if the run cannot be read."""
    deadline = time.monotonic() + limit.total_seconds()
    while True:
        try:
            busy = task_in_flight((await handle.fetch_history()).events)
            if activities and not busy:
                busy = bool((await handle.describe()).raw_description.pending_activities)
        except Exception:  # noqa: BLE001 - unknown workflow and the like: nothing to wait for
            return
        if not busy or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.005)


async def settle_before_query(
    client: Client, workflow_id: str, run_id: str | None, limit: timedelta = SETTLE_LIMIT
) -> None:
    """Return once the queried run has no workflow task in flight, or after ``limit``."""
    await settle(client.get_workflow_handle(workflow_id, run_id=run_id), limit)
