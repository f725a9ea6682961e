"""Harness feature: fault injection (``temporal.inject``) and the attempts it leaves behind.

The pieces, one module each: ``faults`` (the public vocabulary), ``_fault_state`` (what
was injected and observed), ``_fault_wrappers`` (activity side: apply a fault to an
attempt, record every attempt), ``_fault_interceptors`` (workflow side: schedule faulted
calls with shortened timeouts), ``_model`` and ``_model_window`` (model faults: the fake
model server fails an attempt's requests), ``_crash`` (worker crashes), ``_attempts`` (records,
assertions, the richer history) and ``_isolation`` (a fresh harness per hypothesis example).
"""

from __future__ import annotations

import asyncio
import difflib
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._context import TestContext
from .._errors import HarnessUsageError
from .._sdk import activity_name
from ._attempts import UNCHECKED, AttemptHistory, AttemptRecord, check_attempts
from ._interceptors import FaultInterceptor
from ._model import the_fake
from ._state import CRASH_TASK_TIMEOUT, FaultState
from ._types import (
    EVERY_ATTEMPT,
    Fault,
    FaultPlan,
    FaultWarning,
    ModelFault,
    WorkerCrash,
    flatten_faults,
)

if TYPE_CHECKING:
    from temporalio.client import StartWorkflowInput, WorkflowHandle

    from ..history import History

UNREGISTERED = """\
{fault!r} never fired: no worker of this test registers an activity named {name!r}.{suggestion}
Registered activities: {registered}. Fix the name, or register the activity (activities=[...])."""

NEVER_CALLED = """\
{fault!r} never fired: no workflow of this test called {name!r} (a worker registers it).
Check that the workflow takes the path that calls it, or drop the fault."""

BEYOND_MAXIMUM = """\
{fault!r} names attempt {attempt}, but {name!r} is scheduled with a retry policy of at most \
{maximum} attempt(s), so that attempt never runs.
Select attempts 1 to {maximum}, or raise the retry policy's maximum_attempts."""

CRASH_TOO_LATE = """\
temporal.inject({fault!r}) came after a worker of this test started ({queues}).
Inject worker crashes before the worker starts: workers of a test with crash faults run
without a workflow cache, or the resumed workflow would wait on the dead worker's sticky queue."""

USE_ISOLATED = """\
temporal.inject() was called on the test's own `temporal` inside a hypothesis example: its
faults, mocks and workers would carry over into every later example.
Open a fresh harness per example instead:
    async with temporal.isolated() as t:
        t.inject(plan)
        result = await t.run(...)"""

#: Teardown waits at most this long for crashes and cancellations that faults started.
PENDING_LIMIT_SECONDS = 15.0


class FaultsFeature:
    """Fault injection: the harness's ``inject`` / ``attempts`` / ``assert_attempts``; at
    the worker (:meth:`wrap_activities`, :meth:`worker_options`), at each start
    (:meth:`adjust_start`), in histories (:meth:`enrich_history`) and at teardown
    (:meth:`problems`)."""

    def __init__(self, ctx: TestContext) -> None:
        self._ctx = ctx
        state = self._fault_state = FaultState()
        self._crash_count = 0
        self._warned: set[str] = set()
        self._drawn: set[Fault] = set()  # faults from drawn plans: not warned about if never called
        self._user_cache: int | None = None  # max_cached_workflows the test's workers asked for
        state.cancel_workflow = self._cancel_workflow
        state.crash_worker = self._crash_worker
        state.worker_identity = self._worker_identity

    # -- declaring --------------------------------------------------------------------------
    def inject(self, *faults: Fault | FaultPlan | Sequence[Fault]) -> FaultPlan:
        """Apply faults to every worker this test builds, real and mocked activities alike.

        Args:
            *faults: faults from :mod:`pytest_temporal_agents.faults`, or fault plans.

        Returns:
            Every fault injected so far in this test, as a plan.

        Raises:
            HarnessUsageError: not a fault; a crash injected after a worker started; a
                model fault with no fake model server active (add the ``fake_llm``
                fixture); the test's own harness used inside a hypothesis example (use
                :meth:`isolated`).
        """
        if not self._ctx.isolated and _in_hypothesis_example():
            raise HarnessUsageError(USE_ISOLATED)
        added = list(flatten_faults(faults))
        workers = self._ctx.workers
        for fault in added:
            if isinstance(fault, WorkerCrash) and workers:
                queues = ", ".join(sorted({repr(r.task_queue) for r in workers}))
                raise HarnessUsageError(CRASH_TOO_LATE.format(fault=fault, queues=queues))
            if isinstance(fault, ModelFault):
                self._fault_state.model_server = the_fake(fault)
        self._fault_state.faults.extend(added)
        for item in faults:
            if isinstance(item, FaultPlan) and item.drawn:
                self._drawn.update(item)
        return FaultPlan(*self._fault_state.faults)

    @property
    def injected_faults(self) -> FaultPlan:
        """Every fault injected in this test, in order."""
        return FaultPlan(*self._fault_state.faults)

    # -- inspecting -------------------------------------------------------------------------
    def attempts(
        self,
        activity: Callable[..., Any] | str | None = None,
        *,
        workflow: WorkflowHandle[Any, Any] | str | None = None,
    ) -> list[AttemptRecord]:
        """Every activity attempt the workers of this test ran, in the order they started.

        The server's history keeps only each activity's last attempt; these records keep
        them all, with outcome, error and the fault that caused it.

        Args:
            activity: only this activity's attempts (function or registered name).
            workflow: only attempts of this workflow (handle or id).
        """
        name = None if activity is None else activity_name(activity)
        return self._fault_state.log.records(name, _workflow_id(workflow))

    def assert_attempts(
        self,
        activity: Callable[..., Any] | str,
        *,
        failed: Sequence[int] | Any = UNCHECKED,
        succeeded: int | None | Any = UNCHECKED,
        workflow: WorkflowHandle[Any, Any] | str | None = None,
        call: int | None = None,
        where: Callable[..., bool] | None = None,
    ) -> list[AttemptRecord]:
        """Assert which attempts of one activity call failed and which one succeeded.

        ``temporal.assert_attempts(fetch_market_data, failed=[1, 2], succeeded=3)``.
        A timed-out or cancelled attempt counts as failed.

        Args:
            activity: the activity (function or registered name).
            failed: attempt numbers that must have failed, in order (exactly these).
            succeeded: the attempt that must have succeeded, or None for "none did".
            workflow: the calling workflow (handle or id), when several called it.
            call: which call (1-based, in the order first attempts started), when the
                activity was called more than once.
            where: only calls whose arguments this predicate accepts (the way faults pick
                calls), e.g. ``where=lambda request: request.symbol == "TSLA"``.

        Returns:
            The call's attempts.

        Raises:
            AssertionError: the attempts differ; the message lists every attempt and why.
            HarnessUsageError: several calls match and ``where``/``workflow``/``call`` do not
                pick one.
        """
        return check_attempts(
            self._fault_state.log,
            activity_name(activity),
            failed=failed,
            succeeded=succeeded,
            workflow_id=_workflow_id(workflow),
            call=call,
            where=where,
        )

    # -- wiring -----------------------------------------------------------------------------
    def wrap_activities(self, activities: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
        from ._wrappers import wrap_activities

        return wrap_activities(activities, self._fault_state)

    def worker_options(self, options: dict[str, Any]) -> dict[str, Any]:
        from ._crash import crash_options

        try:
            self._fault_state.loop = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop: only sync activities would need it
            pass
        interceptors = list(options.get("interceptors", ()))
        if not any(isinstance(i, FaultInterceptor) for i in interceptors):
            interceptors.append(FaultInterceptor(self._fault_state))
        options = {**options, "interceptors": interceptors}
        if self._fault_state.has_crashes():
            self._user_cache = options.get("max_cached_workflows")
            options = crash_options(options)
        return options

    def adjust_start(self, input: StartWorkflowInput) -> None:
        if input.task_timeout is None and self._fault_state.has_crashes():
            input.task_timeout = CRASH_TASK_TIMEOUT

    def enrich_history(self, history: History) -> History:
        return AttemptHistory(history, self._fault_state.log)

    def _worker_identity(self, task_queue: str) -> str:
        from ._crash import worker_identity

        return worker_identity(self._ctx, task_queue)

    async def _cancel_workflow(self, workflow_id: str, run_id: str | None) -> None:
        try:
            await self._ctx.client.get_workflow_handle(workflow_id, run_id=run_id).cancel()
        except Exception as err:  # noqa: BLE001 - reported at teardown
            self._fault_state.problem(f"cancellation fault: could not cancel workflow {workflow_id!r}: {err!r}")

    async def _crash_worker(
        self, task_queue: str, fault: WorkerCrash, report: Callable[[Any], Awaitable[None]]
    ) -> None:
        from ._crash import crash_and_restart

        self._crash_count += 1
        try:
            cache = 0 if self._fault_state.crashes_pending() else self._user_cache
            await crash_and_restart(
                self._ctx, task_queue, fault, self._crash_count, report, cache=cache, began=self._attempt_began
            )
        except Exception as err:  # noqa: BLE001 - reported at teardown
            self._fault_state.problem(f"{fault!r}: the crash failed: {err!r}")
        finally:
            self._fault_state.crashing.discard(task_queue)

    def _attempt_began(self, workflow_id: str, activity_id: str, attempt: int) -> bool:
        """Whether a fault wrapper saw this attempt begin (it reports the attempt itself)."""
        return any(
            (r.workflow_id, r.activity_id, r.attempt) == (workflow_id, activity_id, attempt)
            for r in self._fault_state.log.records()
        )

    # -- teardown -----------------------------------------------------------------------------
    async def problems(self) -> list[str]:
        """Wait for crashes in progress, warn about faults that cannot fire, list problems."""
        state = self._fault_state
        pending = [asyncio.wrap_future(p) if not asyncio.isfuture(p) else p for p in state.take_pending()]
        if pending:
            await asyncio.wait(pending, timeout=PENDING_LIMIT_SECONDS)
        for message in self._fault_warnings():
            if message not in self._warned:  # verify() may run more than once
                self._warned.add(message)
                warnings.warn(message, FaultWarning, stacklevel=2)
        return [f"- {problem}" for problem in state.problems]

    def _fault_warnings(self) -> list[str]:
        state = self._fault_state
        found = list(state.notes)
        for fault in state.faults:
            name = fault.activity
            if name not in state.registered:
                close = difflib.get_close_matches(name, sorted(state.registered), n=3)
                found.append(
                    UNREGISTERED.format(
                        fault=fault,
                        name=name,
                        suggestion=f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else "",
                        registered=", ".join(sorted(state.registered)) or "none",
                    )
                )
                continue
            ran = {record.activity for record in state.log.records()}
            if name not in state.policies and name not in ran:
                if fault not in self._drawn:
                    found.append(NEVER_CALLED.format(fault=fault, name=name))
                continue
            maxima = state.policies.get(name, set())
            if not maxima or 0 in maxima or fault.attempts is None or fault.attempts is EVERY_ATTEMPT:
                continue
            maximum = max(maxima)
            beyond = [a for a in fault.attempts if a > maximum]  # type: ignore[union-attr]
            if beyond:
                found.append(BEYOND_MAXIMUM.format(fault=fault, attempt=beyond[0], name=name, maximum=maximum))
        return found


def _workflow_id(workflow: Any) -> str | None:
    if workflow is None or isinstance(workflow, str):
        return workflow
    return str(workflow.id)


def _in_hypothesis_example() -> bool:
    """Whether a hypothesis example is running (only asked if hypothesis is imported)."""
    if "hypothesis" not in sys.modules:
        return False
    from hypothesis.control import currently_in_test_context

    return bool(currently_in_test_context())
