"""Harness feature: saga-compensation assertions read from the real event history.

``temporal.saga(handle, steps={forward: compensation, ...})`` returns a :class:`SagaCheck`;
its assertions fetch the workflow's history (after waiting for the workflow to close), match
compensations to the forward steps they undo (see ``_saga_analysis``) and fail with one
``- item`` per problem above a side-by-side table of steps and compensations
(``_saga_report``). ``assert_idempotent_compensations`` re-runs the compensations
(``_saga_idempotency``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import TemporalAgentsError
from ._analysis import SagaAnalysis, SagaStep, SagaSteps, analyze
from ._failures import SagaFailure
from ._idempotency import StateFunction, call_state_function
from ._model import parse_executions
from ._report import describe_workflow, render_saga

if TYPE_CHECKING:
    from temporalio.client import WorkflowHandle

    from .._context import TestContext
    from ..history import History
    from ._idempotency import Rerun
    from ._model import Execution

#: ``invariant=`` and ``probe=``: a function of no arguments, sync or async.

SAGA_FAILED = """\
{assertion} failed for {workflow}:
{problems}
Forward steps and their compensations (event ids, workflow time since start, outcome):
{table}"""


class SagaAssertionError(TemporalAgentsError, AssertionError):
    """A saga assertion found problems: listed one ``- item`` per line, then the saga's table."""


class SagaFeature:
    """``temporal.saga(...)``; at the worker (:meth:`remember_activities`) it keeps the
    activities the test registered, for re-running compensations."""

    def __init__(self, ctx: TestContext) -> None:
        self._ctx = ctx
        #: Activities the workers of this test registered, by name, as the worker runs them
        #: without fault wrappers: what assert_idempotent_compensations() re-runs.
        self.activities: dict[str, Callable[..., Any]] = {}

    def saga(
        self,
        handle: WorkflowHandle[Any, Any] | str,
        steps: Mapping[Any, Any] | Sequence[tuple[Any, Any]],
        *,
        depends_on: Mapping[Any, Any] | None = None,
        failed_steps: str = "uncompensated",
        wait: bool = True,
    ) -> SagaCheck:
        """Assertions on the saga that a workflow ran: what completed, what was undone, in order.

        Args:
            handle: the workflow (handle or id).
            steps: each forward step and its compensation, as activities (functions, methods,
                registered names) or child workflows (classes, type names); None for a step
                with nothing to undo: ``{reserve: release, place: cancel, confirm: None}``.
                A list of ``(forward, compensation)`` pairs declares a chain: each step
                depends on all those before it.
            depends_on: ``{step: prerequisite or [prerequisites]}``: compensations are then
                ordered only between dependent steps. Without it (and with a mapping), a step
                scheduled after another completed counts as depending on it; steps that
                overlapped in time (ran in parallel) are not ordered.
            failed_steps: whether a step that failed must not (``"uncompensated"``, the
                default), must (``"compensated"``: the workflow registers each compensation
                before running its step) or may (``"either"``) be compensated.
            wait: wait for the workflow to close before reading its history.

        Returns:
            The check; its assertions are coroutines: ``await check.assert_compensated()``.

        Raises:
            HarnessUsageError: the declaration is malformed (the message shows a correct one).
        """
        declaration = SagaSteps(steps, depends_on=depends_on, failed_steps=failed_steps)
        return SagaCheck(self._ctx, handle, declaration, self.activities, wait=wait)

    def remember_activities(self, activities: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
        from ._idempotency import remember

        remember(activities, self.activities)
        return activities


class SagaCheck:
    """The saga one workflow ran, checked against its declaration (see ``temporal.saga``)."""

    def __init__(
        self,
        ctx: TestContext,
        handle: WorkflowHandle[Any, Any] | str,
        steps: SagaSteps,
        registered: dict[str, Callable[..., Any]] | None = None,
        *,
        wait: bool = True,
    ) -> None:
        self._ctx = ctx
        self._registered = registered if registered is not None else {}
        self._handle = ctx.client.get_workflow_handle(handle) if isinstance(handle, str) else handle
        self.steps = steps
        self._wait = wait

    @property
    def workflow_id(self) -> str:
        return str(self._handle.id)

    async def history(self) -> History:
        """The workflow's history (once it closed, unless ``wait=False``)."""
        from temporalio.client import WorkflowFailureError

        if self._wait:
            try:
                await self._ctx.result(self._handle)
            except WorkflowFailureError:
                pass  # a failed saga is what most of these checks are about
        return await self._ctx.history(self._handle)

    async def analyze(self) -> SagaAnalysis:
        """Forward runs and the compensations matched to them, for checks of your own."""
        return analysis_of(self.steps, await self.history())

    async def report(self) -> str:
        """The side-by-side table of forward steps and compensations."""
        return render_saga(await self.analyze())

    async def assert_completed(self) -> SagaAnalysis:
        """Assert that every forward step completed and no compensation ran.

        Returns:
            The analysis, for further checks.

        Raises:
            SagaAssertionError: one ``- item`` per problem, then the saga's table.
        """
        analysis = await self.analyze()
        _raise_if(completed_problems(analysis), analysis, "assert_completed()", rolled_back=False)
        return analysis

    async def assert_compensated(
        self,
        *,
        through: Any = None,
        invariant: StateFunction | None = None,
    ) -> SagaAnalysis:
        """Assert that the saga was rolled back: every forward step that completed was
        compensated exactly once, in reverse order of completion (between dependent steps),
        and nothing that never completed was compensated.

        A compensation the server retried counts once when an attempt succeeded (the history
        keeps only the final attempt); one that never succeeded is reported.

        Args:
            through: the last forward step that should have completed before the saga failed
                (steps declared before it completed too, steps after it did not); or a
                :class:`SagaFailure` from ``strategies.saga_failures``: the steps before its
                failure point completed and its step ran and failed.
            invariant: a check of your state once the saga is undone, sync or async, run
                after the history checks: it fails by raising ``AssertionError`` or
                returning ``False``.

        Returns:
            The analysis, for further checks.

        Raises:
            SagaAssertionError: one ``- item`` per problem, then the saga's table.
            HarnessUsageError: ``through`` is not a forward step of this saga.
        """
        analysis = await self.analyze()
        problems = compensated_problems(analysis)
        if through is not None:
            problems.extend(through_problems(analysis, through))
        if invariant is not None:
            problems.extend(await invariant_problems(invariant))
        _raise_if(problems, analysis, _call("assert_compensated", through=through), rolled_back=True)
        return analysis

    async def assert_idempotent_compensations(
        self,
        probe: StateFunction,
        *,
        activities: Sequence[Callable[..., Any]] = (),
        repeat: int = 1,
    ) -> list[Rerun]:
        """Re-run each compensation that completed, with the input it had, and assert that
        the state ``probe()`` sees is unchanged: a duplicate delivery must be harmless.

        Activities are re-run through the function the test's workers registered (mocks
        included, fault wrappers left out) in an activity context (``activity.info()``
        names the original call, one attempt later). A compensation run as a child
        workflow is started again with the same workflow id and input on its task queue.

        Args:
            probe: returns a comparable snapshot of the state compensations touch (sync or
                async), such as ``lambda: broker.snapshot()``.
            activities: activity functions to use instead of (or beyond) those the workers
                registered, for compensations that other workers served.
            repeat: how many times to re-run each one.

        Returns:
            What each re-run did.

        Raises:
            SagaAssertionError: a re-run changed the state or raised; or no compensation ran.
            HarnessUsageError: a compensation's activity is not known to the harness.
        """
        from ._idempotency import check_repeat, rerun_compensations

        check_repeat(repeat)
        analysis = await self.analyze()
        reruns, problems = await rerun_compensations(
            self._ctx,
            analysis,
            probe,
            registered=self._registered,
            extra=activities,
            repeat=repeat,
        )
        _raise_if(problems, analysis, "assert_idempotent_compensations()", rolled_back=True)
        return reruns


def analysis_of(steps: SagaSteps, history: History) -> SagaAnalysis:
    """Analyze a history (fetched or loaded from a file) against a saga declaration."""
    events = list(history.events)
    return analyze(
        steps,
        parse_executions(events),
        workflow_id=history.workflow_id,
        workflow_type=history.workflow_type,
        status=history.status,
        start_time=events[0].event_time.ToDatetime() if events else None,
    )


# -- problems ---------------------------------------------------------------------------------
def completed_problems(analysis: SagaAnalysis) -> list[str]:
    """What keeps the saga from having completed with nothing undone."""
    problems = []
    for step in analysis.steps.steps:
        runs = analysis.runs_of(step)
        if not runs:
            problems.append(f"{step.forward.name} never ran")
        elif not any(r.completed for r in runs):
            last = runs[-1].execution
            assert last is not None
            problems.append(f"{step.forward.name} did not complete: {last.outcome()} (events {last.events()})")
    for compensation in analysis.compensations():
        undone = _undone_name(analysis, compensation.scheduled_event_id)
        problems.append(
            f"{compensation.name} ran (events {compensation.events()}, {compensation.outcome()}) "
            f"to undo {undone}: a completed saga undoes nothing"
        )
    problems.extend(analysis.forward_order_problems)
    return problems


def compensated_problems(analysis: SagaAnalysis) -> list[str]:
    """What keeps the saga from having been rolled back correctly."""
    problems = []
    for run in analysis.runs:
        step, execution = run.step, run.execution
        if execution is None or step.compensation is None:
            continue
        if run.needs_compensation and run.compensated_by is None:
            did = "completed" if run.completed else f"failed ({execution.outcome()})"
            if run.compensations:
                last = run.compensations[-1]
                tries = len(run.compensations)
                problems.append(
                    f"{last.name} never succeeded in undoing {step.forward.name} ({did}, events "
                    f"{execution.events()}): {last.outcome()} (events {last.events()})"
                    + (f", after {tries} executions" if tries > 1 else "")
                )
            else:
                problems.append(
                    f"{step.forward.name} {did} (events {execution.events()}) but was never "
                    f"compensated: {step.compensation.name} did not run for it"
                )
    for step, compensation in analysis.stray:
        problems.append(_stray_problem(analysis, step, compensation))
    problems.extend(analysis.order_problems)
    problems.extend(analysis.forward_order_problems)
    return problems


def _stray_problem(analysis: SagaAnalysis, step: SagaStep, compensation: Execution) -> str:
    runs = analysis.runs_of(step)
    undone = [r.compensated_by for r in runs if r.compensated_by is not None]
    ran = f"{compensation.name} ran (events {compensation.events()}, {compensation.outcome()})"
    if undone and compensation.completed:
        return (
            f"{compensation.name} ran again (events {compensation.events()}): {step.forward.name} was "
            f"already compensated (events {undone[-1].events()}), and a step is compensated exactly once"
        )
    failed = [r.execution for r in runs if r.execution is not None and not r.completed]
    if failed:
        return (
            f"{ran} to undo {step.forward.name}, which never completed ({failed[-1].outcome()}): "
            "nothing to undo. If the step may have half-happened, declare failed_steps='compensated' "
            "or 'either'"
        )
    if not runs:
        return f"{ran} but {step.forward.name} never ran: nothing to undo"
    return f"{ran} but no completed {step.forward.name} was left to undo"


def through_problems(analysis: SagaAnalysis, through: Any) -> list[str]:
    """Which steps should have completed before the failure, against which did."""
    declared = analysis.steps
    failing: SagaStep | None = None
    if isinstance(through, SagaFailure):
        expected_names = set(through.completed_before)
        label = f"the failure at {through.step}"
        failing = next((s for s in declared.steps if s.forward.name == through.step), None)
    else:
        last = declared.step(through, "assert_compensated(through=...)")
        index = declared.steps.index(last)
        expected_names = {s.forward.name for s in declared.steps[: index + 1]}
        label = f"through={last.forward.name}"
    completed = {s.forward.name for s in analysis.completed_steps()}
    problems = []
    for step in declared.steps:
        name = step.forward.name
        if name in expected_names and name not in completed:
            runs = analysis.runs_of(step)
            why = runs[-1].execution.outcome() if runs and runs[-1].execution else "it never ran"
            problems.append(f"{name} should have completed before the saga failed ({label}), but {why}")
        elif name not in expected_names and name in completed and step is not failing:
            problems.append(f"{name} completed, but the saga should have failed before it ({label})")
    if failing is not None:
        runs = analysis.runs_of(failing)
        if not runs:
            problems.append(f"{failing.forward.name} never ran, so {label} never happened")
        elif any(r.completed for r in runs):
            problems.append(
                f"{failing.forward.name} completed, so {label} did not fail it: does the injected "
                f"{through.kind} exhaust its retry policy?"
            )
    return problems


async def invariant_problems(invariant: StateFunction) -> list[str]:
    """Run a state invariant; its AssertionError or False return is a problem."""
    try:
        outcome = await call_state_function(invariant)
    except AssertionError as err:
        detail = str(err).strip() or type(err).__name__
        return ["the state invariant failed: " + detail.replace("\n", "\n  ")]
    if outcome is False:
        return [f"the state invariant {getattr(invariant, '__name__', invariant)!s} returned False"]
    return []


def _undone_name(analysis: SagaAnalysis, event_id: int) -> str:
    for run in analysis.runs:
        if any(c.scheduled_event_id == event_id for c in run.compensations):
            return run.name
    for step, execution in analysis.stray:
        if execution.scheduled_event_id == event_id:
            return step.forward.name
    return "?"


def _call(method: str, **arguments: Any) -> str:
    shown = []
    for key, value in arguments.items():
        if value is None:
            continue
        if isinstance(value, SagaFailure):
            shown.append(f"{key}={value!r}")
        else:
            from ._model import step_ref

            shown.append(f"{key}={step_ref(value).name}")
    return f"{method}({', '.join(shown)})"


def _raise_if(problems: list[str], analysis: SagaAnalysis, assertion: str, *, rolled_back: bool) -> None:
    if not problems:
        return
    raise SagaAssertionError(
        SAGA_FAILED.format(
            assertion=assertion,
            workflow=describe_workflow(analysis),
            problems="\n".join(f"- {p}" for p in problems),
            table=render_saga(analysis, rolled_back=rolled_back),
        )
    )


__all__ = ["SagaAssertionError", "SagaCheck", "SagaFeature", "analysis_of"]
