"""The per-test object behind the ``temporal`` fixture: a facade over the features.

:class:`TemporalHarness` owns the test's :class:`~pytest_temporal_agents._context.TestContext`,
its :class:`~._lifecycle.Lifecycle` (the features, in the order they act) and its
:class:`~._workers.Workers`. Each public method either runs a workflow (``start``, ``run``,
``result``, ``history``) or hands the call to one feature object; the table of delegations
below says which.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

import temporalio.client
import temporalio.worker
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.testing import WorkflowEnvironment

from .._context import StartedWorkflow, TestContext, slug
from .._errors import HarnessUsageError
from ..faults import FaultsFeature
from ..history import History
from ..llm import trajectory
from ..mocks import ActivityClockFeature, CallbacksFeature, MocksFeature
from ..replay import ReplayCheck, ReplayFeature
from ..saga import SagaFeature
from ..servers import settle_before_query
from ._campaign import ExampleListener, observed
from ._isolation import INHERITED, IsolatedChecksFailed, attach_timelines, scopes
from ._lifecycle import Lifecycle
from ._options import DEFAULT_TIMEOUT
from ._shutdown import end_test, stop_idle_workers
from ._timeouts import wait_for_result, with_timeout
from ._workers import Workers

_NO_ARG: Any = object()

NOT_A_PLUGIN = """\
temporal.use_plugins({plugin!r}): that is not a temporalio plugin. Pass instances of
temporalio.plugin.SimplePlugin, temporalio.client.Plugin or temporalio.worker.Plugin
(for example OpenAIAgentsPlugin(...) from temporalio.contrib.openai_agents)."""

PLUGINS_TOO_LATE = """\
temporal.use_plugins({plugins!r}) came after a worker or workflow of this test started, which
keeps the configuration it started with. Declare plugins first: call use_plugins() before
temporal.run(), temporal.start() or temporal.worker(), or use @pytest.mark.temporal(plugins=[...])."""

P = ParamSpec("P")
R = TypeVar("R")


def _delegate(feature: str, method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A harness method that calls ``method`` on the lifecycle's ``feature`` object (or on
    the harness's own ``_workers``)."""

    owner = operator.attrgetter(feature if feature.startswith("_") else f"_lifecycle.{feature}")

    def forward(self: TemporalHarness, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(owner(self), *args, **kwargs)

    functools.update_wrapper(forward, method)
    return forward


CLIENT_IS_THE_HARNESS = """\
temporal.client cannot be replaced: the harness's workers, history reads, trajectories and
teardown replay use the client it built. Give temporalio plugins (OpenAIAgentsPlugin, a codec)
to the harness: temporal.use_plugins(plugin) before the test's first run, start or worker,
or @pytest.mark.temporal(plugins=[plugin])."""


def _context_attribute(name: str, doc: str, replaced: str | None = None) -> Any:
    """A context's attribute: read-only, or assigning it is the usage error ``replaced``."""

    def refuse(self: TemporalHarness, value: Any) -> None:
        raise HarnessUsageError(str(replaced))

    return property(lambda self: getattr(self._ctx, name), refuse if replaced else None, doc=doc)


def _feature_attribute(feature: str, name: str, doc: str) -> Any:
    """A read-write harness attribute kept by the lifecycle's ``feature`` object."""

    def get(self: TemporalHarness) -> Any:
        return getattr(getattr(self._lifecycle, feature), name)

    def set_(self: TemporalHarness, value: Any) -> None:
        setattr(getattr(self._lifecycle, feature), name, value)

    return property(get, set_, doc=doc)


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
        self._harness._lifecycle.adjust_start(input)
        handle = await super().start_workflow(input)
        return self._harness._track(handle, input.workflow)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        handle = await super().start_update_with_start_workflow(input)
        start = input.start_workflow_input  # a workflow the test started: replayed, terminated
        self._harness._ctx.started[start.id] = StartedWorkflow(start.id, handle.workflow_run_id, start.workflow)
        return handle

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        if self._harness._workers.stopped_idle:  # the teardown's checks stopped them: see verify()
            await self._harness._workers.resume_idle()
        if self._harness.supports_time_skipping:
            # The Java test server loses a query that meets a run-ending workflow task.
            await settle_before_query(self._harness.client, input.id, input.run_id)
        return await super().query_workflow(input)


class TemporalHarness:
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
        plugins: Sequence[Any] = (),
        server_alive: Callable[[], bool] | None = None,
    ) -> None:
        """
        Args:
            env: the session's environment.
            test_id: names the task queue and workflow ids (the test's node id).
            timeout: the wall-clock limit for a workflow's result.
            plugins: temporalio plugins (see :meth:`use_plugins`).
            server_alive: says whether the environment's server still runs (the plugin asks
                its server pool); a dead server's teardown then asks it nothing, instead of
                waiting out the client's retries (~10 s a call).
        """
        self._server_alive = server_alive
        unique = uuid.uuid4().hex[:8]
        test_slug = slug(test_id)
        self._plugins: list[Any] = []
        self._ctx = TestContext(
            env,
            client=self._recording_client(env),
            task_queue=f"pta-{test_slug}-{unique}",
            id_prefix=f"{test_slug}-{unique}",
            timeout=timeout,
        )
        self._ctx.history = self.history
        self._ctx.result = self.result
        self._lifecycle = Lifecycle(self._ctx)
        self._workers = Workers(self._ctx, self._lifecycle)
        self._ctx.ensure_worker = self._workers.ensure_worker
        self._ctx.worker = self._workers.worker
        self._closed = False
        #: The replay check ``verify(defer_replay=True)`` left running (None: none).
        self.deferred_replay: ReplayCheck | None = None
        if plugins:
            self.use_plugins(*plugins)

    def _recording_client(self, env: WorkflowEnvironment) -> Client:
        """A client of ``env`` with this test's plugins that records what it starts."""
        config = env.client.config()
        # Outermost, so it sees the handle the test gets (the time-skipping layer wraps it).
        config["interceptors"] = [_RecordingInterceptor(self), *config["interceptors"]]
        config["plugins"] = list(self._plugins)
        return Client(**config)

    def use_plugins(self, *plugins: Any) -> None:
        """Run this test's client, workers and teardown replay with temporalio plugins.

        Any ``temporalio.plugin.SimplePlugin``, client plugin or worker plugin (for example
        temporalio's ``OpenAIAgentsPlugin`` or pydantic-ai's): the client is rebuilt with
        them, every worker the harness builds gets them through the client, and the replay
        at teardown (and ``temporal.replay``) replays with the same plugins, converter,
        interceptors and workflow runner. Also ``@pytest.mark.temporal(plugins=[...])``.

        Raises:
            HarnessUsageError: not a plugin, or a worker or workflow of this test already
                started (it would keep the configuration it started with).
        """
        for plugin in plugins:
            if not isinstance(plugin, (temporalio.client.Plugin, temporalio.worker.Plugin)):
                raise HarnessUsageError(NOT_A_PLUGIN.format(plugin=plugin))
        if self._ctx.workers or self._ctx.started:
            raise HarnessUsageError(PLUGINS_TOO_LATE.format(plugins=list(plugins)))
        self._plugins.extend(plugins)
        self._ctx.client = self._recording_client(self._ctx.env)

    # -- the test's context --------------------------------------------------------------------
    env: WorkflowEnvironment = _context_attribute("env", "The session's :class:`WorkflowEnvironment`.")
    client: Client = _context_attribute(
        "client",
        "A client of the environment that records every workflow this test starts.",
        CLIENT_IS_THE_HARNESS,
    )
    task_queue: str = _context_attribute("task_queue", "This test's own task queue.")
    id_prefix: str = _context_attribute("id_prefix", "The prefix of every workflow id this test makes up.")
    timeout: timedelta = _context_attribute(
        "timeout", "The wall-clock limit for a workflow's result in this test."
    )

    @property
    def supports_time_skipping(self) -> bool:
        return self.env.supports_time_skipping

    async def now(self) -> datetime:
        """The server's current time (workflow time under time skipping)."""
        return await self.env.get_current_time()

    async def sleep(self, duration: timedelta | float) -> None:
        """Sleep in server time: skipped at once under time skipping, real time otherwise."""
        await self.env.sleep(duration)

    def new_workflow_id(self, hint: str = "wf") -> str:
        """A workflow id unique to this test: ``<test>-<uuid8>-<hint>-<n>``."""
        return self._ctx.new_workflow_id(hint)

    @property
    def registered_workflows(self) -> list[type]:
        """Every workflow class a worker of this test registered (for replay checks)."""
        return list(self._ctx.registered_workflows.values())

    @property
    def started_workflows(self) -> list[str]:
        """Ids of every workflow this test started through its client."""
        return list(self._ctx.started_ids)

    # -- the features, one object each (see _lifecycle.py) --------------------------------------
    mock_activity = _delegate("mocks", MocksFeature.mock_activity)
    mock_child_workflow = _delegate("mocks", MocksFeature.mock_child_workflow)
    mock_nexus_operation = _delegate("mocks", MocksFeature.mock_nexus_operation)
    mock = _delegate("mocks", MocksFeature.mock)
    assert_call_order = _delegate("mocks", MocksFeature.assert_call_order)
    assert_expectations = _delegate("mocks", MocksFeature.assert_expectations)
    seed = _feature_attribute(
        "mocks",
        "seed",
        "Seed of values faked for mocks without a behaviour; derived from the test's id, so the "
        "same test fakes the same values on every run. Assign to change it (it applies to calls "
        "made afterwards).",
    )
    signal_after = _delegate("callbacks", CallbacksFeature.signal_after)
    query_after = _delegate("callbacks", CallbacksFeature.query_after)
    update_after = _delegate("callbacks", CallbacksFeature.update_after)
    freeze_activity_clock = _delegate("clock", ActivityClockFeature.freeze_activity_clock)
    inject = _delegate("faults", FaultsFeature.inject)
    attempts = _delegate("faults", FaultsFeature.attempts)
    assert_attempts = _delegate("faults", FaultsFeature.assert_attempts)
    saga = _delegate("saga", SagaFeature.saga)
    trajectory = _delegate("_ctx", trajectory)
    save_history = _delegate("replay", ReplayFeature.save_history)
    _prepare_replay_check = _delegate("replay", ReplayFeature.prepare_replay_check)
    replay = _delegate("replay", ReplayFeature.replay)
    replay_check = _feature_attribute(
        "replay", "replay_check", "Replay every workflow the test ran at teardown (default True)."
    )
    record_histories_to = _feature_attribute(
        "replay", "record_histories_to", "Directory to write this test's histories into, or None."
    )
    test_failed = _feature_attribute(
        "replay", "test_failed", "The test body failed; teardown problems then stay one line each."
    )

    @property
    def mock_calls(self) -> list[Any]:
        """Every call to a mock of this test, in the order they happened."""
        return self._lifecycle.mocks.mock_calls

    @property
    def injected_faults(self) -> Any:
        """Every fault injected in this test, in order (a ``FaultPlan``)."""
        return self._lifecycle.faults.injected_faults

    def isolated(
        self, label: str = "example", *, replay_check: bool | None = None
    ) -> AbstractAsyncContextManager[TemporalHarness]:
        """A fresh harness for one hypothesis example (or any sub-scenario of a test).

        It has its own task queue, workflow ids, mocks and faults, shares the session's
        server, and at the end of the ``async with`` runs the same checks as the fixture's
        teardown (expectations, replay, fault warnings) and stops its workers::

            @given(plan=fault_plans(activities=[fetch_market_data]))
            async def test_survives(temporal, plan):
                async with temporal.isolated() as t:
                    t.inject(plan)
                    assert await t.run(MyWorkflow.run, "AAPL", activities=[...])

        Args:
            label: part of the task queue and workflow ids, to tell scopes apart.
            replay_check: replay the scope's workflows at its end (default: as the test's
                harness does). A replay costs about a third of a small example's time.
        """
        return observed(self._isolated_scope(label, replay_check), self.example_listener)

    #: Told as each isolated scope opens and closes (the plugin's progress line for @given tests).
    example_listener: ExampleListener | None = None

    @asynccontextmanager
    async def _isolated_scope(self, label: str, replay_check: bool | None) -> AsyncIterator[TemporalHarness]:
        base = self.id_prefix.rsplit("-", 1)[0]
        child = type(self)(
            self.env,
            test_id=f"{base}-{label}-{next(scopes)}",
            timeout=self.timeout,
            plugins=self._plugins,
            server_alive=self._server_alive,
        )
        child._ctx.isolated = True
        for name in INHERITED:
            setattr(child, name, getattr(self, name))
        if replay_check is not None:
            child.replay_check = replay_check
        child.record_histories_to = None  # histories are recorded per test, not per example
        try:
            yield child
        except BaseException as err:
            child.test_failed = True
            await attach_timelines(err, child._ctx)
            await child.close()
            raise
        problems: list[str] = []
        try:
            problems = await child.verify()
        finally:
            problems += await child.close()
        if problems:
            raise IsolatedChecksFailed("\n".join(problems))

    # -- workers and workflows ----------------------------------------------------------------
    worker = _delegate("_workers", Workers.worker)

    def _track(self, handle: WorkflowHandle[Any, Any], workflow_type: str) -> WorkflowHandle[Any, Any]:
        """Remember a started workflow; return its handle with the no-hang timeout armed."""
        self._ctx.started[handle.id] = StartedWorkflow(handle.id, handle.result_run_id, workflow_type)
        return with_timeout(handle, self.result)

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
        queue = await self._workers.ensure_worker(
            "start",
            workflow,
            task_queue or self._workers.start_queue,
            workflows,
            activities,
            may_move=task_queue is None,
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
        return await wait_for_result(self._ctx, handle, timeout, **result_options)

    async def history(self, handle: WorkflowHandle[Any, Any] | str, run_id: str | None = None) -> History:
        """The workflow's real event history from the server.

        Args:
            handle: a workflow handle, or a workflow id.
            run_id: with an id, a specific run (default: the latest).
        """
        if isinstance(handle, str):
            handle = self.client.get_workflow_handle(handle, run_id=run_id)
        return self._lifecycle.enrich_history(History(await handle.fetch_history()))

    # -- teardown and reports -----------------------------------------------------------------
    async def report_sections(self) -> list[tuple[str, str]]:
        """One ``(title, text)`` per workflow the test started: id, status, timeline."""
        sections = []
        for started in self._ctx.started.values():
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

    async def verify(self, *, defer_replay: bool = False) -> list[str]:
        """Run the teardown checks (clock, recording, replay, faults, delayed calls, mocks).

        While the replay check finishes (in another interpreter), the background workers
        stop if none of the test's workflows still runs: a later ``start()`` or ``run()``
        starts a new one, a query starts them again. What did not stop is reported by
        :meth:`close`.

        Args:
            defer_replay: do not wait for the replay check when every other check passed
                and the replay runs in the helper interpreter: it is then left in
                :attr:`deferred_replay`, whose ``wait()`` (synchronous, no event loop
                needed) or ``await problems()`` gives its problems later. The plugin uses
                this to report a test's replay while the next test runs.
        """
        problems, self.deferred_replay = await self._lifecycle.teardown_problems(
            while_replaying=lambda: stop_idle_workers(self._ctx, self._workers, server_alive=self._server_alive),
            defer_replay=defer_replay,
        )
        return problems

    async def close(self) -> list[str]:
        """Stop every worker this test started and terminate its workflows still running,
        in the order the shared time-skipping server needs (see :func:`end_test`).

        Returns what did not stop (an activity that ignored cancellation, a worker left
        behind), one problem per entry; the fixture fails the test with them.
        """
        if self._closed:
            return []
        self._closed = True
        return await end_test(self._ctx, self._workers, server_alive=self._server_alive)


__all__ = ["DEFAULT_TIMEOUT", "TemporalHarness"]

