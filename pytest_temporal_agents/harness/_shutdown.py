"""Stopping a worker without hanging the session on an activity that will not stop.

A worker's shutdown cancels its activities and waits for every one of them to finish. An
activity that catches ``asyncio.CancelledError`` and goes on (agent code often wraps a model
call in a broad ``except``) never finishes, so the shutdown, the test's teardown and the
event loop's own closing would wait forever. Here a shutdown gets a grace period; what is
still running then is named in the test's failure, an async activity is closed (its
coroutine gets ``GeneratorExit``, which no ``except Exception`` or ``except
CancelledError`` catches), and the worker is left behind if it still does not stop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from .._errors import TemporalAgentsWarning
from .._sdk import RunningActivity, running_activities
from ..servers import TERMINATION_SETTLE, settle

if TYPE_CHECKING:
    from .._context import StartedWorkflow, TestContext, WorkerRecord


class Workers(Protocol):
    """What :func:`end_test` needs of the harness's workers (``_workers.Workers``)."""

    problems: list[str]
    stopped_idle: list[WorkerRecord]
    none_running: dict[str, StartedWorkflow] | None

    async def stop(self, record: WorkerRecord) -> None: ...

#: How long a stopping worker may take, and again after the harness closed what ignored it.
SHUTDOWN_GRACE = timedelta(seconds=3)

IGNORED_CANCELLATION = """\
activity {name!r} (attempt {attempt}, workflow {workflow_id!r}) ignored cancellation: it was still running \
{grace:g} s after its worker cancelled it at the end of the test. It catches asyncio.CancelledError and goes \
on (a broad `except BaseException:` or bare `except:` does that); re-raise the CancelledError once it has \
cleaned up. The harness closed the activity's coroutine so that the session goes on."""

THREAD_NEVER_STOPPED = """\
activity {name!r} (attempt {attempt}, workflow {workflow_id!r}) runs in a thread that was still busy \
{grace:g} s after its worker cancelled it at the end of the test; a thread cannot be stopped from outside. \
The SDK raises CancelledError in the thread when it next runs Python code: if the activity catches it \
(a broad `except BaseException:` or bare `except:`), re-raise it; a call that blocks forever (a socket \
read with no timeout) never sees it: give such calls a timeout, and check activity.is_cancelled() in \
long loops. The thread was left running as a daemon thread, so it does not keep the process alive."""

WORKER_NEVER_STOPPED = """\
the worker of task queue {task_queue!r} did not stop within {grace:g} s of the end of the test \
and was left behind{detail}."""


async def end_test(
    ctx: TestContext, workers: Workers, *, server_alive: Callable[[], bool] | None = None
) -> list[str]:
    """Stop a test's background workers and terminate its workflows still running; return
    what did not stop (see :func:`stop_worker`).

    The order matters on the Java time-skipping server, which is shared by the whole
    session: terminating a workflow while one of its workflow tasks or activities is in
    flight leaks a time-skipping lock, and a workflow left running without a worker does
    too once its next timer fires. Either way time stops for every later test. So workflow
    tasks are let finish while the workers still run, then the workers stop (in-flight
    activities are cancelled and reported), then the rest terminate. With a dead server
    (``server_alive`` says so) only the workers stop.
    """
    # A dead server answers nothing: asking would wait out the client's retries (~10 s).
    # Nor is the server asked again when the teardown's checks found none of these very
    # workflows running (stop_idle_workers) and the test started none since: a closed run
    # stays closed, and every worker of the test has stopped.
    if (server_alive is not None and not server_alive()) or _still_none_running(ctx, workers):
        running = []
    else:
        running = await _running(ctx)
    await asyncio.gather(*(settle(handle, TERMINATION_SETTLE) for handle in running))
    errors = await _stop_background(ctx, workers)
    for handle in running:
        try:
            await handle.terminate(reason="pytest-temporal-agents: the test ended")
        except Exception:  # noqa: BLE001 - it may have finished meanwhile
            pass
    _warn(errors)
    return list(workers.problems)


async def stop_idle_workers(
    ctx: TestContext, workers: Workers, *, server_alive: Callable[[], bool] | None = None
) -> None:
    """Stop the test's background workers now if none of its workflows still runs.

    The fixture's teardown calls this while the replay check runs in another interpreter,
    so that the two overlap; :func:`end_test` then has nothing left to stop. With a workflow
    still running the workers stay for :func:`end_test`, whose order that workflow needs.
    A later ``start()`` or ``run()`` starts a new worker, as it does after any stop, and a
    query starts the stopped ones again (a closed workflow's query needs a worker).
    What did not stop goes to ``workers.problems``, as in :func:`end_test`.
    """
    workers.none_running = None
    if not any(w.background for w in ctx.workers):
        return
    if (server_alive is not None and not server_alive()) or await _running(ctx):
        return  # a dead server's test: end_test stops the workers without asking it
    workers.none_running = dict(ctx.started)
    workers.stopped_idle = [w for w in ctx.workers if w.background]
    _warn(await _stop_background(ctx, workers))


def _still_none_running(ctx: TestContext, workers: Workers) -> bool:
    """True when ``stop_idle_workers`` found none of the test's workflows running, the test
    has started none since (each start records a new entry), and no worker of it runs."""
    checked = workers.none_running
    if checked is None or len(checked) != len(ctx.started) or ctx.workers:
        return False
    return all(ctx.started.get(key) is started for key, started in checked.items())


async def _running(ctx: TestContext) -> list[WorkflowHandle[Any, Any]]:
    """Handles of the test's workflows still running (described all at once)."""
    handles = [ctx.client.get_workflow_handle(started.workflow_id) for started in ctx.started.values()]

    async def status(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus | None:
        try:
            return (await handle.describe()).status
        except Exception:  # noqa: BLE001 - teardown goes on
            return None

    statuses = await asyncio.gather(*(status(handle) for handle in handles))
    return [h for h, s in zip(handles, statuses) if s == WorkflowExecutionStatus.RUNNING]


async def _stop_background(ctx: TestContext, workers: Workers) -> list[Exception]:
    errors = []
    for record in [w for w in ctx.workers if w.background]:
        try:
            await workers.stop(record)
        except Exception as err:  # noqa: BLE001
            errors.append(err)
    return errors


def _warn(errors: list[Exception]) -> None:
    if errors:
        warnings.warn(
            f"pytest-temporal-agents: {len(errors)} worker(s) did not stop cleanly: {errors[0]!r}",
            TemporalAgentsWarning,
            stacklevel=4,
        )


async def stop_worker(
    worker: Any,
    task_queue: str,
    executor: concurrent.futures.ThreadPoolExecutor | None = None,
    grace: timedelta = SHUTDOWN_GRACE,
) -> list[str]:
    """Stop ``worker`` within about twice ``grace``; return what did not stop, as problems."""
    seconds = grace.total_seconds()
    shutdown = asyncio.ensure_future(worker.__aexit__(None, None, None))
    problems: list[str] = []
    try:
        if not await _finished(shutdown, seconds):
            stuck = running_activities(worker)
            problems = [_describe(activity, seconds) for activity in stuck]
            for activity in stuck:
                _close(activity)
            if not await _finished(shutdown, seconds):
                detail = "" if stuck else " (no activity was running: a workflow task may never have yielded)"
                problems.append(WORKER_NEVER_STOPPED.format(task_queue=task_queue, grace=2 * seconds, detail=detail))
                shutdown.add_done_callback(_consume)
        elif shutdown.exception() is not None:
            raise shutdown.exception()
    finally:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
    return problems


async def _finished(task: asyncio.Future[Any], seconds: float) -> bool:
    # asyncio.wait, not wait_for: wait_for would wait for the cancelled shutdown to end too.
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return bool(done)


def _describe(activity: RunningActivity, seconds: float) -> str:
    template = THREAD_NEVER_STOPPED if activity.sync else IGNORED_CANCELLATION
    return template.format(
        name=activity.name, attempt=activity.attempt, workflow_id=activity.workflow_id, grace=seconds
    )


def _close(activity: RunningActivity) -> None:
    """End an activity's task for good: close an async activity's coroutine, then wake the task.

    A sync activity's task only awaits its thread: cancelling it lets the worker stop while the
    thread, which nothing can stop, runs on as a daemon (see :mod:`._threads`).
    """
    task = activity.task
    if task is None or task.done():
        return
    if not activity.sync:
        with contextlib.suppress(RuntimeError):  # "coroutine ignored GeneratorExit": it is ending anyway
            task.get_coro().close()
    task.cancel()
    task.add_done_callback(_consume)


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a left-behind task's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
