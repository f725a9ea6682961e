"""The harness's workers: built through the lifecycle (mocks, saga, faults, replay options),
started on demand, stopped at teardown.

``temporal.worker(...)`` runs one for an ``async with`` block. ``start()`` and ``run()``
start a background worker when none serves the queue, and a new one with the union of
registrations when a later call needs more (see :meth:`Workers.ensure_worker`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Worker

from .._context import StartedWorkflow, TestContext, WorkerRecord
from .._errors import HarnessUsageError
from .._sdk import activity_name, sandboxed_runner, workflow_class_of, workflow_name
from ._shutdown import stop_worker
from ._threads import DaemonThreadPool

if TYPE_CHECKING:
    from ._lifecycle import Lifecycle

NO_WORKFLOW_CLASS = """\
temporal.{method}() needs to know which workflow classes the worker should run.
{workflow!r} is not a @workflow.run method of an importable class.
Pass workflows=[MyWorkflow] (and activities=[...]), or run inside `async with temporal.worker(...)`."""

OTHER_LOOP = """\
The `temporal` fixture was set up in one asyncio event loop, but the test runs in another:
a worker started in the test's loop could not be stopped by the fixture's teardown.
pytest-asyncio gives tests and fixtures different loops when their loop scopes differ
(here, most likely, asyncio_default_test_loop_scope is wider than asyncio_default_fixture_loop_scope).
Give both the same scope in your pytest configuration, for example:
    asyncio_default_fixture_loop_scope = "function"
    asyncio_default_test_loop_scope = "function"
or mark the test with @pytest.mark.asyncio(loop_scope=...) matching the fixture's."""


class Workers:
    """Building, starting and stopping the workers of one test (kept in ``ctx.workers``)."""

    def __init__(self, ctx: TestContext, lifecycle: Lifecycle) -> None:
        self._ctx = ctx
        self._lifecycle = lifecycle
        #: Where start() and run() start workflows unless told: this test's task queue, or
        #: a later one of its own when a new worker could not replace the old (_move_needed).
        self.start_queue = ctx.task_queue
        self._queues = itertools.count(2)
        #: What did not stop when a worker stopped (an activity that ignored cancellation):
        #: reported as the test's failure at teardown.
        self.problems: list[str] = []
        #: Background workers the teardown's replay overlap stopped while no workflow ran
        #: (see ``_shutdown.stop_idle_workers``): a query needs one back (:meth:`resume_idle`).
        self.stopped_idle: list[WorkerRecord] = []
        #: The test's started workflows when ``stop_idle_workers`` found none of them running
        #: (None: not found so since the last check): ``end_test`` need not ask again.
        self.none_running: dict[str, StartedWorkflow] | None = None
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop (a script): nothing to compare with
            self._loop = None

    def _check_loop(self) -> None:
        """Workers run in the loop that will stop them at teardown: the fixture's."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._loop is not None and running is not self._loop:
            raise HarnessUsageError(OTHER_LOOP)

    def _build_worker(
        self,
        workflows: Sequence[type],
        activities: Sequence[Callable[..., Any]],
        task_queue: str,
        background: bool,
        options: dict[str, Any],
    ) -> WorkerRecord:
        self._check_loop()
        # The record keeps what was asked for: later calls compare against it, and the
        # transformed lists (mocks, fault wrappers) are new objects every time.
        requested_workflows, requested_activities = list(workflows), list(activities)
        activities = self._lifecycle.activities(list(activities))
        workflows = self._lifecycle.workflows(list(workflows))
        options = self._lifecycle.worker_options(dict(options))
        for cls in workflows:
            self._ctx.registered_workflows.setdefault(workflow_name(cls), cls)
        options.setdefault("workflow_runner", sandboxed_runner())
        executor = None
        needs_threads = any(
            not inspect.iscoroutinefunction(fn) and not inspect.iscoroutinefunction(
                getattr(fn, "__call__", None)
            )
            for fn in activities
        )
        if needs_threads and "activity_executor" not in options:
            executor = DaemonThreadPool(max_workers=max(4, len(activities)))
            options = {**options, "activity_executor": executor}
        worker = Worker(
            self._ctx.client,
            task_queue=task_queue,
            workflows=list(workflows),
            activities=list(activities),
            **options,
        )
        return WorkerRecord(
            worker, task_queue, requested_workflows, requested_activities, background, executor
        )

    @asynccontextmanager
    async def worker(
        self,
        /,
        *,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        task_queue: str | None = None,
        **worker_options: Any,
    ) -> AsyncIterator[Worker]:
        """Run a worker for the duration of an ``async with`` block.

        Args:
            workflows: workflow classes to register.
            activities: activity callables to register (sync ones get a thread pool).
            task_queue: defaults to the queue where ``start()`` starts workflows: this
                test's task queue (or a later one of its own, see ``start()``).
            **worker_options: passed to :class:`temporalio.worker.Worker`.

        Yields:
            The running SDK worker.
        """
        await self._lifecycle.prepare_workers()
        record = self._build_worker(
            workflows, activities, task_queue or self.start_queue, False, worker_options
        )
        self._ctx.workers.append(record)
        await record.worker.__aenter__()
        try:
            yield record.worker
        finally:
            if record in self._ctx.workers:
                self._ctx.workers.remove(record)
            self.problems += await stop_worker(record.worker, record.task_queue, record.executor)

    async def ensure_worker(
        self,
        method: str,
        workflow: Any,
        task_queue: str,
        workflows: Sequence[type] | None,
        activities: Sequence[Callable[..., Any]] | None,
        *,
        may_move: bool = False,
    ) -> str:
        """Make sure a worker polls a task queue with what this call needs registered;
        return that queue: ``task_queue``, or with ``may_move`` a new one of this test's
        (see :meth:`_move_needed`)."""
        polling = self._ctx.polling(task_queue)
        if any(not w.background for w in polling):
            if workflows is None and activities is None:
                return task_queue
            raise HarnessUsageError(
                f"temporal.{method}() got workflows=/activities=, but `async with temporal.worker(...)` "
                f"already serves task queue {task_queue!r}. Register them on that worker instead."
            )
        if workflows is None:
            cls = workflow_class_of(workflow)
            if cls is None:
                if polling and activities is None:
                    return task_queue  # a workflow type's name: the running worker may know it
                raise HarnessUsageError(NO_WORKFLOW_CLASS.format(method=method, workflow=workflow))
            workflows = [cls]
        # A later call may need more: serve the union, so workflows already running
        # on the old background worker keep being served by the new one.
        merged_workflows = {workflow_name(w): w for p in polling for w in p.workflows}
        merged_workflows.update({workflow_name(w): w for w in workflows})
        merged_activities = {activity_name(a): a for p in polling for a in p.activities}
        merged_activities.update({activity_name(a): a for a in (activities or ())})
        current = polling[0] if polling else None
        if current is not None and (
            set(merged_workflows.values()) == set(current.workflows)
            and set(merged_activities.values()) == set(current.activities)
        ):
            return task_queue
        if current is not None and may_move and await self._move_needed(task_queue):
            task_queue = f"{self._ctx.task_queue}-{next(self._queues)}"
            self.start_queue = task_queue
        elif current is not None:
            # The SDK allows one worker per task queue and client: stop the old one first.
            # Workflows it was running resume on the new worker from their histories.
            await self.stop(current)
        await self._lifecycle.prepare_workers()
        record = self._build_worker(
            list(merged_workflows.values()), list(merged_activities.values()), task_queue, True, {}
        )
        await record.worker.__aenter__()
        self._ctx.workers.append(record)
        return task_queue

    async def _move_needed(self, task_queue: str) -> bool:
        """Whether replacing the background worker of ``task_queue`` would strand a workflow.

        A worker caches the workflows it runs, and the server sends their next workflow
        task to that worker's own (sticky) queue. The time-skipping test server never moves
        a task off the sticky queue of a worker that stopped: a workflow of this test still
        running there would hang. Then a new worker (with everything registered) serves a
        new queue of this test, later starts go there, and the old worker keeps serving its
        workflows until teardown.
        """
        for started in list(self._ctx.started.values()):
            try:
                described = await self._ctx.client.get_workflow_handle(started.workflow_id).describe()
            except Exception:  # noqa: BLE001 - gone or unreadable: nothing to strand
                continue
            queue = described.raw_description.execution_config.task_queue.name
            if described.status == WorkflowExecutionStatus.RUNNING and queue == task_queue:
                return True
        return False

    async def resume_idle(self) -> None:
        """Start again the background workers stopped while idle, where no worker polls their
        queue now: a query of a closed workflow is answered by a worker replaying it."""
        stopped, self.stopped_idle = self.stopped_idle, []
        for old in stopped:
            if self._ctx.polling(old.task_queue):
                continue
            record = self._build_worker(old.workflows, old.activities, old.task_queue, True, {})
            await record.worker.__aenter__()
            self._ctx.workers.append(record)

    async def stop(self, record: WorkerRecord) -> None:
        """Stop a worker and forget it; what did not stop goes to :attr:`problems`."""
        self._ctx.workers.remove(record)
        self.problems += await stop_worker(record.worker, record.task_queue, record.executor)
