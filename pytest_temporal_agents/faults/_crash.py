"""Worker crashes: tear a worker down mid-workflow and start a fresh one in its place.

The fresh worker is built from the same configuration (same workflows, the same wrapped
activities, interceptors and options) under a new identity, so the history shows which
worker ran each workflow task. It starts with no state: the workflows resume from their
histories, as they would after a real crash.

Three things keep a crash from stalling the test:

* Workers of a test that injects a crash run without a workflow cache
  (``max_cached_workflows=0``) until the last crash has fired. A cached workflow's next
  task goes to its worker's sticky queue, and the time-skipping test server never moves a
  task off the sticky queue of a worker that is gone: the workflow would wait forever.
* Workflows and their children start with a short workflow task timeout
  (:data:`CRASH_TASK_TIMEOUT`), so a workflow task the dying worker took with it is
  retried within 2 s, not the default 10 s.
* An attempt still running on the crashed worker fails with a retryable ``WorkerCrashed``
  error instead of being dropped; a dropped attempt (as after a real crash) is retried only
  once its start-to-close timeout passes on the server, in real time.
* So does an attempt the server handed to the dying worker that never began to run (its
  poll answered in the instant the worker stopped; more likely the busier the machine).
  Once the old worker is gone, and before the new one polls, the workflows of the test
  (and their children) are described: every attempt the server still counts as started
  by the old worker's identity, and that no activity wrapper ever saw, is failed by id
  with the same error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from .._context import TestContext, WorkerRecord
from .._errors import HarnessUsageError
from .._sdk import running_activities
from ._state import CRASH_TASK_TIMEOUT  # noqa: F401 - documented here, used by the feature
from ._wrappers import WORKER_CRASHED

if TYPE_CHECKING:
    from ._types import WorkerCrash

RESTARTED = " (restarted after crash {n})"

NO_WORKER = """\
{fault!r} fired on task queue {queue!r}, but no worker of this test polls it any more.
Is the activity running on a worker the harness did not build?"""


#: The worker option crash faults set to 0 (and restore once no crash is left to fire).
_USER_CACHE = "max_cached_workflows"


def crash_options(options: dict[str, Any]) -> dict[str, Any]:
    """Worker options for a test with crash faults: no workflow cache, so no sticky queue."""
    return {**options, _USER_CACHE: 0}


def worker_identity(ctx: TestContext, task_queue: str) -> str:
    """Identity of the worker polling ``task_queue`` now (the client's, unless set)."""
    for record in reversed(ctx.polling(task_queue)):
        return str(record.worker.config().get("identity") or ctx.client.identity)
    return ctx.client.identity


async def crash_and_restart(
    ctx: TestContext,
    task_queue: str,
    fault: WorkerCrash,
    count: int,
    report: Callable[[Any], Awaitable[None]],
    *,
    cache: int | None = 0,
    began: Callable[[str, str, int], bool] = lambda workflow_id, activity_id, attempt: False,
) -> None:
    """Stop the worker polling ``task_queue``, start a fresh one, then report the attempt
    that triggered the crash (it completes asynchronously, see ``_fault_wrappers``).

    ``cache`` is the new worker's ``max_cached_workflows``: 0 while more crashes may follow,
    otherwise the size the test asked for (None: the SDK's default), which spares the rest of
    the run a replay of the whole history at every workflow task. ``began(workflow_id,
    activity_id, attempt)`` tells whether an activity wrapper saw that attempt begin: such
    an attempt is reported by its wrapper, so the sweep for orphaned attempts spares it.

    A worker the test opened with ``async with temporal.worker(...)`` is shut down but stays
    the test's (its ``async with`` exits as usual); the replacement belongs to the harness
    and stops at teardown, like the workers that ``run()`` and ``start()`` start.
    """
    polling = [r for r in ctx.polling(task_queue) if not r.crashed]
    if not polling:
        raise HarnessUsageError(NO_WORKER.format(fault=fault, queue=task_queue))
    old = polling[-1]
    await _handed_over(old.worker, getattr(report, "task_token", None))
    config: dict[str, Any] = dict(old.worker.config())
    old_identity = str(config.get("identity") or ctx.client.identity)
    old.crashed = True
    # The attempt that fired the crash completes asynchronously; at shutdown the SDK still
    # tries to cancel it and warns that it cannot find it. Expected here, so not shown.
    warnings.filterwarnings("ignore", message="Cannot find activity to cancel", category=UserWarning)
    if old.background:
        ctx.workers.remove(old)
        await old.worker.__aexit__(None, None, None)
    else:
        await old.worker.shutdown()
    await fail_orphaned_attempts(ctx, old_identity, began)
    executor = _fresh_executor(old, config)
    config["identity"] = old_identity.split(" (restarted")[0] + RESTARTED.format(n=count)
    if cache is None:
        config.pop(_USER_CACHE, None)
    else:
        config[_USER_CACHE] = cache
    if executor is not None:
        config["activity_executor"] = executor
    elif old.background:
        executor = old.executor  # the harness's own pool moves to the new worker
    worker = Worker(**config)
    await worker.__aenter__()
    ctx.workers.append(WorkerRecord(worker, task_queue, old.workflows, old.activities, True, executor))
    await report(ctx.client)


#: How long a crash waits for the SDK to take the firing attempt's "complete async".
HAND_OVER_LIMIT_SECONDS = 5.0


async def _handed_over(worker: Any, task_token: bytes | None) -> None:
    """Wait until ``worker`` is done with the attempt that fired the crash.

    The crash is scheduled from the attempt just before it raises ``raise_complete_async()``;
    under load the crash can reach the shutdown before the SDK has seen that, and the
    shutdown then fails the attempt ("Worker shutting down"): the server retries it, and its
    outcome, reported later, no longer has an attempt to go to.
    """
    if task_token is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HAND_OVER_LIMIT_SECONDS
    while loop.time() < deadline and any(a.task_token == task_token for a in running_activities(worker)):
        await asyncio.sleep(0.01)


ORPHANED = """\
pytest-temporal-agents: the worker {identity!r} crashed (an injected worker_crash) after the \
server handed it {activity} attempt {attempt}, before the attempt began; the server retries \
it on the new worker"""


async def fail_orphaned_attempts(
    ctx: TestContext,
    identity: str,
    began: Callable[[str, str, int], bool] = lambda workflow_id, activity_id, attempt: False,
) -> list[str]:
    """Fail every attempt still marked started by the crashed worker ``identity``.

    The worker is gone, so no such attempt can ever complete; without this its retry would
    wait for the start-to-close timeout in real time (the attempt holds the time-skipping
    server's clock). Call it after the old worker stopped and before a new one polls the
    queue. Attempts ``began`` knows are spared: their wrappers report them (the attempt
    that fired the crash, or one the shutdown failed with ``WorkerCrashed``). Returns
    ``"activity_type attempt N"`` for each attempt failed.
    """
    failed: list[str] = []

    async def sweep(workflow_id: str, run_id: str | None) -> None:
        try:
            handle = ctx.client.get_workflow_handle(workflow_id, run_id=run_id)
            description = (await handle.describe()).raw_description
        except RPCError:
            return  # not found (an isolated() harness's workflow, say): nothing of ours
        children = [sweep(c.workflow_id, c.run_id or None) for c in description.pending_children]
        for pending in description.pending_activities:
            if pending.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                continue
            if pending.last_worker_identity != identity:
                continue
            if began(workflow_id, pending.activity_id, pending.attempt):
                continue
            name = pending.activity_type.name
            error = ApplicationError(
                ORPHANED.format(identity=identity, activity=name, attempt=pending.attempt), type=WORKER_CRASHED
            )
            activity = ctx.client.get_async_activity_handle(
                workflow_id=workflow_id,
                run_id=description.workflow_execution_info.execution.run_id or None,
                activity_id=pending.activity_id,
            )
            try:
                await activity.fail(error)
            except RPCError:
                continue  # finished in the meantime
            failed.append(f"{name} attempt {pending.attempt}")
        await asyncio.gather(*children)

    await asyncio.gather(*(sweep(workflow_id, None) for workflow_id in ctx.started_ids))
    return failed


def _fresh_executor(old: WorkerRecord, config: dict[str, Any]) -> concurrent.futures.ThreadPoolExecutor | None:
    """A new thread pool when the old worker's belongs to the user's ``async with`` block,
    which shuts it down on exit while the replacement still needs one."""
    executor = old.executor
    if executor is None:
        return None
    # The same kind of pool (the harness's daemon-thread one), so a stuck thread never holds the process.
    kind: type[concurrent.futures.ThreadPoolExecutor] = type(executor)
    if old.background or config.get("activity_executor") is not executor:
        return None
    size: int = getattr(executor, "_max_workers", 4)
    return kind(max_workers=size, thread_name_prefix="temporal-activity")
