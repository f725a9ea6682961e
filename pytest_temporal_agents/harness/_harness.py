"""The per-test object behind the ``temporal`` fixture."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment

from .._errors import TemporalAgentsWarning, WorkflowTimeoutError
from ..faults import FaultsFeature
from ..history import History, format_offset
from ..mocks import MockingFeature
from ..replay import ReplayFeature
from ..saga import SagaFeature
from ..servers import TERMINATION_SETTLE, settle, settle_before_query
from ._workers import WorkersFeature

DEFAULT_TIMEOUT = timedelta(seconds=30)

_NO_ARG: Any = object()

WORKFLOW_TIMEOUT = """\
Workflow {workflow_id!r} ({workflow_type}) did not finish within {timeout} of wall time.
It is terminated when the test ends, so that the session can go on. Raise the limit with --temporal-timeout,
the ini option temporal_timeout or @pytest.mark.temporal(timeout=...) if it is just slow.
{pending}
Timeline:
{timeline}"""

def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[-limit:].lstrip("-") or "test"


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


class TemporalHarness(WorkersFeature, MockingFeature, FaultsFeature, ReplayFeature, SagaFeature):
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
        self._started: dict[str, _Started] = {}
        self._closed = False
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
        await asyncio.gather(*(settle(handle, TERMINATION_SETTLE) for handle in running))
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


def _enum_tail(value: Any) -> str:
    return PendingActivityState.Name(value).removeprefix("PENDING_ACTIVITY_STATE_")


def _human(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:g} s"


__all__ = ["DEFAULT_TIMEOUT", "TemporalHarness"]

