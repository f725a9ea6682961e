"""The per-test object behind the ``temporal`` fixture."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import re
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ._errors import HarnessUsageError, TemporalAgentsWarning, WorkflowTimeoutError
from ._query_guard import settle_before_query
from ._faults import FaultsFeature
from ._history import History, format_offset
from ._names import activity_name, workflow_name
from ._mocks import MockingFeature
from ._replay import ReplayFeature
from ._sandbox import sandboxed_runner
from ._saga import SagaFeature

DEFAULT_TIMEOUT = timedelta(seconds=30)

_NO_ARG: Any = object()

WORKFLOW_TIMEOUT = """\
Workflow {workflow_id!r} ({workflow_type}) did not finish within {timeout} of wall time.
It is terminated when the test ends, so that the session can go on. Raise the limit with --temporal-timeout,
the ini option temporal_timeout or @pytest.mark.temporal(timeout=...) if it is just slow.
{pending}
Timeline:
{timeline}"""

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


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[-limit:].lstrip("-") or "test"


def _workflow_class_of(run_fn: Any) -> type | None:
    """The class that defines a ``@workflow.run`` method, if it can be found."""
    if isinstance(run_fn, type):
        return run_fn
    qualname = getattr(run_fn, "__qualname__", "")
    module = sys.modules.get(getattr(run_fn, "__module__", ""), None)
    if module is None or "." not in qualname or "<locals>" in qualname:
        return None
    owner: Any = module
    for part in qualname.split(".")[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return owner if isinstance(owner, type) else None


@dataclass
class _WorkerRecord:
    worker: Worker
    task_queue: str
    workflows: list[type]
    activities: list[Callable[..., Any]]
    background: bool
    executor: concurrent.futures.ThreadPoolExecutor | None = None


@dataclass
class _Started:
    """A workflow this test started, whichever way it was started."""

    workflow_id: str
    run_id: str | None
    workflow_type: str


class _RecordingInterceptor(Interceptor):
    """Client interceptor: remembers every workflow the test starts, arms timeouts, and
    (time-skipping server) holds a query back while a workflow task is in flight."""

    def __init__(self, harness: TemporalHarness) -> None:
        self._harness = harness

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _RecordingOutbound(next, self._harness)


class _RecordingOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, harness: TemporalHarness) -> None:
        super().__init__(next)
        self._harness = harness

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        for adjust in self._harness._start_workflow_hooks:
            adjust(input)
        handle = await super().start_workflow(input)
        return self._harness._track(handle, input.workflow)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        if self._harness.supports_time_skipping:
            # The Java test server loses a query that meets a run-ending workflow task.
            await settle_before_query(self._harness.client, input.id, input.run_id)
        return await super().query_workflow(input)


class TemporalHarness(MockingFeature, FaultsFeature, ReplayFeature, SagaFeature):
    """Everything a test needs to run Temporal workflows against the session's server.

    Each test gets its own task queue and workflow-id prefix, so tests never see each
    other's workflows. The ``client`` records every workflow it starts: for the failure
    report, the no-hang timeout and the checks at teardown.
    """

    def __init__(
        self,
        env: WorkflowEnvironment,
        *,
        test_id: str = "test",
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        self.env = env
        unique = uuid.uuid4().hex[:8]
        slug = _slug(test_id)
        self.task_queue = f"pta-{slug}-{unique}"
        self.id_prefix = f"{slug}-{unique}"
        self.timeout = timeout
        config = env.client.config()
        # Outermost, so it sees the handle the test gets (the time-skipping layer wraps it).
        config["interceptors"] = [_RecordingInterceptor(self), *config["interceptors"]]
        self.client: Client = Client(**config)
        self._ids = itertools.count(1)
        self._workers: list[_WorkerRecord] = []
        #: Where start() and run() start workflows unless told: this test's task queue, or
        #: a later one of its own when a new worker could not replace the old (_move_needed).
        self._start_queue = self.task_queue
        self._queues = itertools.count(2)
        self._started: dict[str, _Started] = {}
        self._closed = False
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop (a script): nothing to compare with
            self._loop = None
        #: Extension points for the feature modules (mocks, faults, replay checks):
        #: each transformer may replace the activity list of every worker this harness builds;
        #: each teardown check returns problems ("- item" lines) that fail the test.
        self._activity_transformers: list[
            Callable[[list[Callable[..., Any]]], list[Callable[..., Any]]]
        ] = []
        #: Applied after every transformer, so they wrap what will really run: faults
        #: wrap mocked and real activities alike.
        self._activity_wrappers: list[
            Callable[[list[Callable[..., Any]]], list[Callable[..., Any]]]
        ] = []
        self._workflow_transformers: list[Callable[[list[type]], list[type]]] = []
        self._teardown_checks: list[Callable[[], Awaitable[list[str]]]] = []
        #: Each adjusts the keyword options of every Worker this harness builds (faults add
        #: their workflow interceptor, and turn off the workflow cache for worker crashes).
        self._worker_option_hooks: list[Callable[[dict[str, Any]], dict[str, Any]]] = []
        #: Each may return a richer History for temporal.history() (faults add the
        #: attempts their wrappers saw: the server keeps only each activity's last one).
        self._history_hooks: list[Callable[[History], History]] = []
        #: Each may adjust every workflow start through this harness's client (faults give
        #: workflows in crash tests a short workflow task timeout).
        self._start_workflow_hooks: list[Callable[[StartWorkflowInput], None]] = []
        self._registered_workflows: dict[str, type] = {}
        self._init_features()

    # -- time ------------------------------------------------------------------------------
    @property
    def supports_time_skipping(self) -> bool:
        return self.env.supports_time_skipping

    async def now(self) -> datetime:
        """The server's current time (workflow time under time skipping)."""
        return await self.env.get_current_time()

    async def sleep(self, duration: timedelta | float) -> None:
        """Sleep in server time: skipped at once under time skipping, real time otherwise."""
        await self.env.sleep(duration)

    # -- ids ---------------------------------------------------------------------------------
    def new_workflow_id(self, hint: str = "wf") -> str:
        """A workflow id unique to this test: ``<test>-<uuid8>-<hint>-<n>``."""
        return f"{self.id_prefix}-{_slug(hint, 30)}-{next(self._ids)}"

    # -- workers -----------------------------------------------------------------------------
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
    ) -> _WorkerRecord:
        self._check_loop()
        # The record keeps what was asked for: later calls compare against it, and the
        # transformed lists (mocks, fault wrappers) are new objects every time.
        requested_workflows, requested_activities = list(workflows), list(activities)
        for transform_activities in [*self._activity_transformers, *self._activity_wrappers]:
            activities = transform_activities(list(activities))
        for transform_workflows in self._workflow_transformers:
            workflows = transform_workflows(list(workflows))
        for adjust_options in self._worker_option_hooks:
            options = adjust_options(dict(options))
        for cls in workflows:
            self._registered_workflows.setdefault(workflow_name(cls), cls)
        options.setdefault("workflow_runner", sandboxed_runner())
        executor = None
        needs_threads = any(
            not inspect.iscoroutinefunction(fn) and not inspect.iscoroutinefunction(
                getattr(fn, "__call__", None)
            )
            for fn in activities
        )
        if needs_threads and "activity_executor" not in options:
            executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(4, len(activities)), thread_name_prefix="temporal-activity"
            )
            options = {**options, "activity_executor": executor}
        worker = Worker(
            self.client,
            task_queue=task_queue,
            workflows=list(workflows),
            activities=list(activities),
            **options,
        )
        return _WorkerRecord(
            worker, task_queue, requested_workflows, requested_activities, background, executor
        )

    @asynccontextmanager
    async def worker(
        self,
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
            task_queue: defaults to this test's own task queue.
            **worker_options: passed to :class:`temporalio.worker.Worker`.

        Yields:
            The running SDK worker.
        """
        record = self._build_worker(
            workflows, activities, task_queue or self.task_queue, False, worker_options
        )
        self._workers.append(record)
        try:
            async with record.worker:
                yield record.worker
        finally:
            self._workers.remove(record)
            if record.executor is not None:
                record.executor.shutdown(wait=False, cancel_futures=True)

    def _polling(self, task_queue: str) -> list[_WorkerRecord]:
        return [w for w in self._workers if w.task_queue == task_queue]

    async def _ensure_worker(
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
        polling = self._polling(task_queue)
        if polling and workflows is None and activities is None:
            return task_queue
        if any(not w.background for w in polling):
            if workflows is None and activities is None:
                return task_queue
            raise HarnessUsageError(
                f"temporal.{method}() got workflows=/activities=, but `async with temporal.worker(...)` "
                f"already serves task queue {task_queue!r}. Register them on that worker instead."
            )
        if workflows is None:
            cls = _workflow_class_of(workflow)
            if cls is None:
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
            task_queue = f"{self.task_queue}-{next(self._queues)}"
            self._start_queue = task_queue
        elif current is not None:
            # The SDK allows one worker per task queue and client: stop the old one first.
            # Workflows it was running resume on the new worker from their histories.
            await self._stop_worker(current)
        record = self._build_worker(
            list(merged_workflows.values()), list(merged_activities.values()), task_queue, True, {}
        )
        await record.worker.__aenter__()
        self._workers.append(record)
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
        for started in list(self._started.values()):
            try:
                described = await self.client.get_workflow_handle(started.workflow_id).describe()
            except Exception:  # noqa: BLE001 - gone or unreadable: nothing to strand
                continue
            queue = described.raw_description.execution_config.task_queue.name
            if described.status == WorkflowExecutionStatus.RUNNING and queue == task_queue:
                return True
        return False

    async def _stop_worker(self, record: _WorkerRecord) -> None:
        self._workers.remove(record)
        try:
            await record.worker.__aexit__(None, None, None)
        finally:
            if record.executor is not None:
                record.executor.shutdown(wait=False, cancel_futures=True)

    # -- workflows ------------------------------------------------------------------------
    def _track(self, handle: WorkflowHandle[Any, Any], workflow_type: str) -> WorkflowHandle[Any, Any]:
        """Remember a started workflow; return its handle with the no-hang timeout armed."""
        self._started[handle.id] = _Started(handle.id, handle.result_run_id, workflow_type)
        if isinstance(handle, _TimedResult):
            return handle
        # Same state in a subclass of the handle's own class: the time-skipping
        # client's handle class is what unlocks time skipping while awaiting results.
        timed: Any = object.__new__(_timed_class(type(handle)))
        timed.__dict__.update(handle.__dict__)
        timed._harness = self
        return timed  # type: ignore[no-any-return]

    async def start(
        self,
        workflow: Any,
        arg: Any = _NO_ARG,
        *,
        args: Sequence[Any] = (),
        id: str | None = None,
        task_queue: str | None = None,
        workflows: Sequence[type] | None = None,
        activities: Sequence[Callable[..., Any]] | None = None,
        **start_options: Any,
    ) -> WorkflowHandle[Any, Any]:
        """Start a workflow and return its handle, starting a worker if none serves the queue.

        Args:
            workflow: the ``@workflow.run`` method (or the workflow type name).
            arg: the single workflow argument; use ``args`` for several.
            id: workflow id; defaults to a fresh id under this test's prefix.
            task_queue: defaults to this test's task queue.
            workflows: workflow classes for the worker this call starts; defaults to the
                class of ``workflow``. Children must be listed.
            activities: activities for that worker.
            **start_options: passed to :meth:`temporalio.client.Client.start_workflow`.

        Returns:
            The workflow handle; its ``result()`` fails instead of hanging past the timeout.

        Raises:
            HarnessUsageError: the worker cannot be built from what was given.
        """
        queue = await self._ensure_worker(
            "start", workflow, task_queue or self._start_queue, workflows, activities, may_move=task_queue is None
        )
        name = workflow if isinstance(workflow, str) else getattr(workflow, "__qualname__", "wf")
        positional = [] if arg is _NO_ARG else [arg]
        return await self.client.start_workflow(
            workflow,
            args=[*positional, *args],
            id=id or self.new_workflow_id(name.split(".")[0]),
            task_queue=queue,
            **start_options,
        )

    async def run(
        self,
        workflow: Any,
        arg: Any = _NO_ARG,
        *,
        args: Sequence[Any] = (),
        timeout: timedelta | None = None,
        **options: Any,
    ) -> Any:
        """Start a workflow, wait for its result and return it (see :meth:`start`).

        Args:
            timeout: wall-clock limit for this workflow; defaults to the test's timeout.

        Raises:
            WorkflowTimeoutError: the workflow did not finish in time; the message lists its
                pending activities and timers and its timeline.
            temporalio.client.WorkflowFailureError: the workflow failed.
        """
        handle = await self.start(workflow, arg, args=args, **options)
        return await self.result(handle, timeout=timeout)

    async def result(
        self,
        handle: WorkflowHandle[Any, Any],
        *,
        timeout: timedelta | None = None,
        **result_options: Any,
    ) -> Any:
        """Wait for a workflow's result, failing with a diagnosis instead of hanging.

        Args:
            handle: the workflow's handle.
            timeout: wall-clock limit; defaults to the test's timeout.
            **result_options: passed to :meth:`temporalio.client.WorkflowHandle.result`.
        """
        limit = timeout or self.timeout
        try:
            untimed = getattr(handle, "_untimed_result", handle.result)
            return await asyncio.wait_for(untimed(**result_options), timeout=limit.total_seconds())
        except asyncio.TimeoutError:
            # Not terminated here: an activity may be in flight, and only the teardown's
            # order (see close) keeps the shared time-skipping server's clock working.
            raise WorkflowTimeoutError(await self._stuck_report(handle, limit)) from None

    async def _stuck_report(self, handle: WorkflowHandle[Any, Any], limit: timedelta) -> str:
        lines: list[str] = []
        workflow_type = self._started.get(handle.id, _Started(handle.id, None, "?")).workflow_type
        try:
            described = await handle.describe()
            raw = described.raw_description
            if raw.pending_activities:
                lines.append("Pending activities:")
                for act in raw.pending_activities:
                    failure = f", last failure: {act.last_failure.message}" if act.last_failure.message else ""
                    lines.append(
                        f"  - {act.activity_type.name} (id {act.activity_id}): attempt {act.attempt}, "
                        f"state {_enum_tail(act.state)}{failure}"
                    )
            if raw.pending_children:
                lines.append("Pending child workflows:")
                lines.extend(
                    f"  - {c.workflow_type_name} (id {c.workflow_id})" for c in raw.pending_children
                )
            history = await self.history(handle)
            timers = [t for t in history.timers() if t.status == "started"]
            if timers:
                lines.append("Pending timers:")
                lines.extend(
                    f"  - timer {t.timer_id} for {format_offset(t.duration).lstrip('+')}" for t in timers
                )
            if not lines:
                lines.append("Nothing pending: it is waiting for a signal, an update or a condition.")
            timeline = history.timeline()
        except Exception as err:  # noqa: BLE001 - diagnosis must not hide the timeout
            timeline = f"  (could not fetch the history: {err})"
        return WORKFLOW_TIMEOUT.format(
            workflow_id=handle.id,
            workflow_type=workflow_type,
            timeout=_human(limit),
            pending="\n".join(lines),
            timeline=timeline,
        )

    async def history(self, handle: WorkflowHandle[Any, Any] | str, run_id: str | None = None) -> History:
        """The workflow's real event history from the server.

        Args:
            handle: a workflow handle, or a workflow id.
            run_id: with an id, a specific run (default: the latest).
        """
        if isinstance(handle, str):
            handle = self.client.get_workflow_handle(handle, run_id=run_id)
        history = History(await handle.fetch_history())
        for enrich in self._history_hooks:
            history = enrich(history)
        return history

    @property
    def registered_workflows(self) -> list[type]:
        """Every workflow class a worker of this test registered (for replay checks)."""
        return list(self._registered_workflows.values())

    @property
    def started_workflows(self) -> list[str]:
        """Ids of every workflow this test started through its client."""
        return list(self._started)

    # -- teardown and reports -----------------------------------------------------------------
    async def report_sections(self) -> list[tuple[str, str]]:
        """One ``(title, text)`` per workflow the test started: id, status, timeline."""
        sections = []
        for started in self._started.values():
            title = f"temporal workflow {started.workflow_id}"
            try:
                history = await self.history(started.workflow_id)
                text = (
                    f"type {history.workflow_type}, status {history.status}, "
                    f"{len(history.events)} events\n{history.timeline()}"
                )
            except Exception as err:  # noqa: BLE001 - a report must not raise
                text = f"(history unavailable: {err})"
            sections.append((title, text))
        return sections

    async def close(self) -> None:
        """Stop every worker this test started and terminate its workflows still running.

        The order matters on the Java time-skipping server, which is shared by the whole
        session: terminating a workflow while one of its workflow tasks or activities is
        in flight leaks a time-skipping lock, and a workflow left running without a worker
        does too once its next timer fires. Either way time stops for every later test.
        So workflow tasks are let finish while the workers still run, then the workers
        stop (in-flight activities are cancelled and reported), then the rest terminate.
        """
        if self._closed:
            return
        self._closed = True
        running = []
        for started in self._started.values():
            handle = self.client.get_workflow_handle(started.workflow_id)
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    running.append(handle)
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        await asyncio.gather(*(_settle(handle) for handle in running))
        errors = []
        for record in [w for w in self._workers if w.background]:
            try:
                await asyncio.wait_for(self._stop_worker(record), timeout=10)
            except Exception as err:  # noqa: BLE001
                errors.append(err)
        for handle in running:
            try:
                await handle.terminate(reason="pytest-temporal-agents: the test ended")
            except Exception:  # noqa: BLE001 - it may have finished meanwhile
                pass
        if errors:
            warnings.warn(
                f"pytest-temporal-agents: {len(errors)} worker(s) did not stop cleanly: {errors[0]!r}",
                TemporalAgentsWarning,
                stacklevel=2,
            )

    async def verify(self) -> list[str]:
        """Run the teardown checks (expectations, replay); return their problems."""
        problems: list[str] = []
        for check in self._teardown_checks:
            problems.extend(await check())
        return problems


class _TimedResult:
    """Mixin for workflow handles: ``result()`` applies the test's no-hang timeout."""

    _harness: TemporalHarness

    async def result(self, **kwargs: Any) -> Any:
        return await self._harness.result(self, **kwargs)  # type: ignore[arg-type]

    async def _untimed_result(self, **kwargs: Any) -> Any:
        return await super().result(**kwargs)  # type: ignore[misc]


_TIMED_CLASSES: dict[type, type] = {}


def _timed_class(cls: type) -> type:
    if cls not in _TIMED_CLASSES:
        _TIMED_CLASSES[cls] = type(f"Timed{cls.__name__.lstrip('_')}", (_TimedResult, cls), {})
    return _TIMED_CLASSES[cls]


_IN_FLIGHT = frozenset(
    {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}
)


async def _settle(handle: WorkflowHandle[Any, Any], limit: float = 2.0) -> None:
    """Wait (briefly) until the workflow has no workflow task in flight."""
    deadline = asyncio.get_running_loop().time() + limit
    while asyncio.get_running_loop().time() < deadline:
        try:
            events = (await handle.fetch_history()).events
        except Exception:  # noqa: BLE001 - nothing to wait for
            return
        if not events or events[-1].event_type not in _IN_FLIGHT:
            return
        await asyncio.sleep(0.005)


def _enum_tail(value: Any) -> str:
    return PendingActivityState.Name(value).removeprefix("PENDING_ACTIVITY_STATE_")


def _human(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:g} s"


__all__ = ["DEFAULT_TIMEOUT", "TemporalHarness"]

