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
"""

from __future__ import annotations

import concurrent.futures
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from temporalio.worker import Worker

from ._errors import HarnessUsageError
from ._fault_state import CRASH_TASK_TIMEOUT  # noqa: F401 - documented here, used by the feature

if TYPE_CHECKING:
    from ._harness import TemporalHarness, _WorkerRecord
    from .faults import WorkerCrash

RESTARTED = " (restarted after crash {n})"

NO_WORKER = """\
{fault!r} fired on task queue {queue!r}, but no worker of this test polls it any more.
Is the activity running on a worker the harness did not build?"""


#: The worker option crash faults set to 0 (and restore once no crash is left to fire).
_USER_CACHE = "max_cached_workflows"


def crash_options(options: dict[str, Any]) -> dict[str, Any]:
    """Worker options for a test with crash faults: no workflow cache, so no sticky queue."""
    return {**options, _USER_CACHE: 0}


def worker_identity(harness: TemporalHarness, task_queue: str) -> str:
    """Identity of the worker polling ``task_queue`` now (the client's, unless set)."""
    for record in reversed(harness._workers):
        if record.task_queue == task_queue:
            return str(record.worker.config().get("identity") or harness.client.identity)
    return harness.client.identity


async def crash_and_restart(
    harness: TemporalHarness,
    task_queue: str,
    fault: WorkerCrash,
    count: int,
    report: Callable[[Any], Awaitable[None]],
    *,
    cache: int | None = 0,
) -> None:
    """Stop the worker polling ``task_queue``, start a fresh one, then report the attempt
    that triggered the crash (it completes asynchronously, see ``_fault_wrappers``).

    ``cache`` is the new worker's ``max_cached_workflows``: 0 while more crashes may follow,
    otherwise the size the test asked for (None: the SDK's default), which spares the rest of
    the run a replay of the whole history at every workflow task.

    A worker the test opened with ``async with temporal.worker(...)`` is shut down but stays
    the test's (its ``async with`` exits as usual); the replacement belongs to the harness
    and stops at teardown, like the workers that ``run()`` and ``start()`` start.
    """
    from ._harness import _WorkerRecord

    polling = [r for r in harness._workers if r.task_queue == task_queue and not getattr(r, "crashed", False)]
    if not polling:
        raise HarnessUsageError(NO_WORKER.format(fault=fault, queue=task_queue))
    old = polling[-1]
    config: dict[str, Any] = dict(old.worker.config())
    old.crashed = True  # type: ignore[attr-defined]
    # The attempt that fired the crash completes asynchronously; at shutdown the SDK still
    # tries to cancel it and warns that it cannot find it. Expected here, so not shown.
    warnings.filterwarnings("ignore", message="Cannot find activity to cancel", category=UserWarning)
    if old.background:
        harness._workers.remove(old)
        await old.worker.__aexit__(None, None, None)
    else:
        await old.worker.shutdown()
    executor = _fresh_executor(old, config)
    identity = str(config.get("identity") or harness.client.identity).split(" (restarted")[0]
    config["identity"] = identity + RESTARTED.format(n=count)
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
    harness._workers.append(_WorkerRecord(worker, task_queue, old.workflows, old.activities, True, executor))
    await report(harness.client)


def _fresh_executor(old: _WorkerRecord, config: dict[str, Any]) -> concurrent.futures.ThreadPoolExecutor | None:
    """A new thread pool when the old worker's belongs to the user's ``async with`` block,
    which shuts it down on exit while the replacement still needs one."""
    executor = old.executor
    if executor is None:
        return None
    if old.background or config.get("activity_executor") is not executor:
        return None
    size: int = getattr(executor, "_max_workers", 4)
    return concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="temporal-activity")
