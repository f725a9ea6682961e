"""Saga analysis: which forward steps completed, which compensation undid each, in what order.

Pure logic over a parsed history (no server, no pytest), so every rule is unit-tested on
hand-built histories as well as on real ones.

The rules:

* A forward step *completed* when an execution of it completed (ActivityTaskCompleted,
  ChildWorkflowExecutionCompleted). A step may run several times (a loop): each execution is
  a run of its own.
* Compensations are matched to runs last-in first-out, per compensation name: the run that
  completed last is undone first. A compensation execution that failed (the server already
  retried it as its retry policy allowed: the history keeps only the final attempt) is
  attached to the run it was trying to undo; the next execution of the same compensation
  is the workflow trying again. A run is compensated once one attached execution completed.
* Order: when run B of a step was scheduled after run A had completed, B may depend on A,
  so B's compensation must complete before A's starts. Runs that overlapped in time (parallel
  steps) impose no order. Declared dependencies (``depends_on=``, or the steps given as an
  ordered list, a chain) replace it: a dependent step is undone before its prerequisite
  even if they overlapped (the forward check reports that a step was scheduled before the
  steps it depends on completed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._errors import HarnessUsageError
from ._model import Execution, StepRef, step_names, step_ref

#: How a forward step whose execution failed is to be treated (``failed_steps=``).
FAILED_STEP_MODES = ("uncompensated", "compensated", "either")

BAD_STEPS = """\
temporal.saga(..., steps={value!r}) is invalid: give a mapping of each forward step to its
compensation, such as steps={{reserve_capital: release_capital, place_order: cancel_order,
confirm_execution: None}} (None: nothing to undo), or a list of (forward, compensation) pairs
for a chain whose every step depends on the ones before it."""

DUPLICATE_STEP = """\
temporal.saga(...) declares the forward step {name!r} twice. Declare each step once; a step the
workflow runs several times (a loop) is matched run by run."""

BOTH_WAYS = """\
temporal.saga(...) declares {name!r} as a forward step and as a compensation. A step is one or
the other; give the compensation its own activity or workflow."""

UNKNOWN_STEP = """\
{where} names {name!r}, which is not a forward step of this saga.
Forward steps: {choices}."""

DEPENDENCY_CYCLE = """\
temporal.saga(..., depends_on=...) has a cycle through {name!r}: a step cannot (even
indirectly) depend on itself. Dependencies: {deps}."""

BAD_MODE = """\
temporal.saga(..., failed_steps={value!r}) is invalid. Valid values: {choices}.
'uncompensated': a step that failed must not be compensated (the default); 'compensated': it
must be (the compensation was registered before the step ran, as it may have half-happened);
'either': both are fine."""


@dataclass(frozen=True)
class SagaStep:
    """One declared forward step and its compensation (None: nothing to undo)."""

    forward: StepRef
    compensation: StepRef | None
    depends_on: tuple[StepRef, ...] = ()


class SagaSteps:
    """A saga's declaration: its forward steps in order, their compensations, dependencies.

    Args:
        steps: a mapping of forward step to compensation (or None), or a list of
            ``(forward, compensation)`` pairs: a chain, each step depending on all before it.
        depends_on: explicit dependencies, ``{step: prerequisite or [prerequisites]}``.
            Without them (and with a mapping), the order is inferred from the history.
        failed_steps: ``uncompensated`` (default), ``compensated`` or ``either``.

    Raises:
        HarnessUsageError: a malformed declaration (the message shows a correct one).
    """

    def __init__(
        self,
        steps: Mapping[Any, Any] | Sequence[tuple[Any, Any]],
        *,
        depends_on: Mapping[Any, Any] | None = None,
        failed_steps: str = "uncompensated",
    ) -> None:
        if failed_steps not in FAILED_STEP_MODES:
            raise HarnessUsageError(
                BAD_MODE.format(value=failed_steps, choices=", ".join(map(repr, FAILED_STEP_MODES)))
            )
        self.failed_steps = failed_steps
        pairs, chain = _pairs(steps)
        forwards: list[StepRef] = []
        for forward, _ in pairs:
            if any(f.name == forward.name for f in forwards):
                raise HarnessUsageError(DUPLICATE_STEP.format(name=forward.name))
            forwards.append(forward)
        for _, compensation in pairs:
            if compensation is not None and any(f.name == compensation.name for f in forwards):
                raise HarnessUsageError(BOTH_WAYS.format(name=compensation.name))
        deps: dict[str, list[StepRef]] = {f.name: [] for f in forwards}
        if chain:
            for index, forward in enumerate(forwards):
                deps[forward.name].extend(forwards[:index])
        for key, values in (depends_on or {}).items():
            step = self._declared(forwards, key, "depends_on=")
            for value in _as_list(values):
                prerequisite = self._declared(forwards, value, f"depends_on[{step.name!r}]")
                if prerequisite not in deps[step.name]:
                    deps[step.name].append(prerequisite)
        self.declared_order = chain or bool(depends_on)
        self.steps = [
            SagaStep(forward, compensation, tuple(deps[forward.name]))
            for forward, compensation in zip(forwards, (c for _, c in pairs))
        ]
        self._ancestors = _transitive(deps)

    @staticmethod
    def _declared(forwards: Sequence[StepRef], value: Any, where: str) -> StepRef:
        ref = step_ref(value)
        for forward in forwards:
            if forward.name == ref.name:
                return forward
        raise HarnessUsageError(
            UNKNOWN_STEP.format(where=f"temporal.saga(..., {where})", name=ref.name, choices=step_names(forwards))
        )

    @property
    def forwards(self) -> list[StepRef]:
        return [s.forward for s in self.steps]

    def step(self, value: Any, where: str = "temporal.saga(...)") -> SagaStep:
        """The declared step ``value`` (function, class or name) refers to.

        Raises:
            HarnessUsageError: it is not a forward step of this saga.
        """
        ref = step_ref(value)
        for step in self.steps:
            if step.forward.name == ref.name:
                return step
        raise HarnessUsageError(UNKNOWN_STEP.format(where=where, name=ref.name, choices=step_names(self.forwards)))

    def depends(self, later: SagaStep, earlier: SagaStep) -> bool:
        """Whether ``later`` depends, directly or not, on ``earlier`` (declared order only)."""
        return earlier.forward.name in self._ancestors[later.forward.name]


def _pairs(steps: Any) -> tuple[list[tuple[StepRef, StepRef | None]], bool]:
    if isinstance(steps, Mapping):
        items, chain = list(steps.items()), False
    elif isinstance(steps, Sequence) and not isinstance(steps, str):
        items, chain = list(steps), True
        if not all(isinstance(i, (tuple, list)) and len(i) == 2 for i in items):
            raise HarnessUsageError(BAD_STEPS.format(value=steps))
    else:
        raise HarnessUsageError(BAD_STEPS.format(value=steps))
    if not items:
        raise HarnessUsageError(BAD_STEPS.format(value=steps))
    return [(step_ref(f), None if c is None else step_ref(c)) for f, c in items], chain


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _transitive(deps: Mapping[str, Sequence[StepRef]]) -> dict[str, set[str]]:
    ancestors: dict[str, set[str]] = {}

    def visit(name: str, path: tuple[str, ...]) -> set[str]:
        if name in path:
            listing = ", ".join(f"{k} <- {[d.name for d in v]}" for k, v in deps.items() if v)
            raise HarnessUsageError(DEPENDENCY_CYCLE.format(name=name, deps=listing))
        if name not in ancestors:
            found: set[str] = set()
            for dep in deps[name]:
                found.add(dep.name)
                found |= visit(dep.name, (*path, name))
            ancestors[name] = found
        return ancestors[name]

    for name in deps:
        visit(name, ())
    return ancestors


# -- the analysis ---------------------------------------------------------------------------
@dataclass
class StepRun:
    """One run of a forward step (``execution`` None: the step never ran) and what undid it.

    Attributes:
        step: the declared step.
        execution: the forward execution.
        compensations: executions of the step's compensation attached to this run, in the
            order they were scheduled (failed tries first, then the one that completed).
        needs_compensation: whether the saga's rules require this run to be compensated
            (if the saga was rolled back).
    """

    step: SagaStep
    execution: Execution | None
    compensations: list[Execution] = field(default_factory=list)
    needs_compensation: bool = False

    @property
    def completed(self) -> bool:
        return self.execution is not None and self.execution.completed

    @property
    def compensated_by(self) -> Execution | None:
        """The compensation execution that completed, if any."""
        return next((c for c in self.compensations if c.completed), None)

    @property
    def name(self) -> str:
        return self.step.forward.name


@dataclass
class SagaAnalysis:
    """Forward runs, the compensations matched to them, and the ordering problems.

    Attributes:
        workflow_id / workflow_type / status: the workflow the history belongs to.
        start_time: the workflow's start (offsets in reports count from it).
        runs: every run of every declared step, in schedule order; steps that never ran
            follow, one placeholder run each.
        stray: compensation executions left over once every run that needed one had it:
            ``(step, execution)`` pairs.
        order_problems: compensations that ran out of order (one sentence each).
        forward_order_problems: forward steps that ran before a declared prerequisite.
    """

    steps: SagaSteps
    workflow_id: str
    workflow_type: str
    status: str
    start_time: datetime | None
    runs: list[StepRun]
    stray: list[tuple[SagaStep, Execution]]
    order_problems: list[str]
    forward_order_problems: list[str]

    def runs_of(self, step: SagaStep) -> list[StepRun]:
        return [r for r in self.runs if r.step is step and r.execution is not None]

    def completed_steps(self) -> list[SagaStep]:
        """Declared steps with at least one completed run, in declaration order."""
        return [s for s in self.steps.steps if any(r.completed for r in self.runs_of(s))]

    def compensations(self) -> list[Execution]:
        """Every compensation execution, matched or not, in schedule order."""
        found = [c for r in self.runs for c in r.compensations] + [e for _, e in self.stray]
        return sorted(found, key=lambda e: e.scheduled_event_id)


def analyze(
    steps: SagaSteps,
    executions: Iterable[Execution],
    *,
    workflow_id: str = "",
    workflow_type: str = "",
    status: str = "",
    start_time: datetime | None = None,
) -> SagaAnalysis:
    """Match the history's executions to the declared saga (see the module docstring)."""
    executions = sorted(executions, key=lambda e: e.scheduled_event_id)
    runs: list[StepRun] = []
    for execution in executions:
        for step in steps.steps:
            if step.forward.matches(execution):
                runs.append(StepRun(step, execution))
    ran = {r.step.forward.name for r in runs}
    runs.extend(StepRun(step, None) for step in steps.steps if step.forward.name not in ran)
    stray = _match_compensations(steps, runs, executions)
    return SagaAnalysis(
        steps=steps,
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        status=status,
        start_time=start_time,
        runs=runs,
        stray=stray,
        order_problems=_order_problems(steps, runs),
        forward_order_problems=_forward_order_problems(steps, runs) if steps.declared_order else [],
    )


def _match_compensations(
    steps: SagaSteps, runs: list[StepRun], executions: Sequence[Execution]
) -> list[tuple[SagaStep, Execution]]:
    stray: list[tuple[SagaStep, Execution]] = []
    by_compensation: dict[str, list[SagaStep]] = {}
    for step in steps.steps:
        if step.compensation is not None:
            by_compensation.setdefault(step.compensation.name, []).append(step)
    for owners in by_compensation.values():
        refs = [s.compensation for s in owners if s.compensation is not None]
        undoing = [e for e in executions if any(ref.matches(e) for ref in refs)]
        candidates = [r for r in runs if r.step in owners and r.execution is not None and r.execution.closed]
        completed = [r for r in candidates if r.completed]
        failed = [r for r in candidates if not r.completed]
        mode = steps.failed_steps
        include_failed = mode == "compensated" or (
            mode == "either" and sum(e.completed for e in undoing) >= len(completed) + len(failed)
        )
        stack = completed + (failed if include_failed else [])
        for run in stack:
            run.needs_compensation = run.completed or mode == "compensated"
        # Last completed, first undone.
        stack.sort(key=lambda r: r.execution.closed_event_id or 0)  # type: ignore[union-attr]
        for execution in undoing:
            if not stack:
                stray.append((owners[0], execution))
                continue
            top = stack[-1]
            top.compensations.append(execution)
            if execution.completed:
                stack.pop()
    return stray


def _first_undo(run: StepRun) -> Execution | None:
    return run.compensations[0] if run.compensations else None


def _order_problems(steps: SagaSteps, runs: list[StepRun]) -> list[str]:
    problems = []
    undone = [r for r in runs if r.compensated_by is not None and r.execution is not None]
    for earlier in undone:
        for later in undone:
            if earlier is later or not _ordered(steps, earlier, later):
                continue
            first = _first_undo(earlier)
            done = later.compensated_by
            assert first is not None and done is not None and done.closed_event_id is not None
            if done.closed_event_id > first.scheduled_event_id:
                problems.append(
                    f"{first.name} (undoing {earlier.name}, events {first.events()}) started before "
                    f"{done.name} (undoing {later.name}, which ran after {earlier.name}) completed "
                    f"(event #{done.closed_event_id}): compensations must run in reverse order"
                )
    return problems


def _ordered(steps: SagaSteps, earlier: StepRun, later: StepRun) -> bool:
    """Whether ``later`` must be undone before ``earlier``.

    Inferred: ``later`` was scheduled after ``earlier`` completed. Declared: ``later``'s
    step depends on ``earlier``'s, unless this run of it finished before that one started
    (an earlier iteration of a loop); runs of one step follow the inferred rule.
    """
    if not steps.declared_order or earlier.step is later.step:
        return _happened_before(earlier, later)
    return steps.depends(later.step, earlier.step) and not _happened_before(later, earlier)


def _happened_before(earlier: StepRun, later: StepRun) -> bool:
    a, b = earlier.execution, later.execution
    return a is not None and b is not None and a.closed_event_id is not None and (
        a.closed_event_id < b.scheduled_event_id
    )


def _forward_order_problems(steps: SagaSteps, runs: list[StepRun]) -> list[str]:
    problems = []
    for run in runs:
        if run.execution is None:
            continue
        for prerequisite in run.step.depends_on:
            before = [
                r.execution
                for r in runs
                if r.step.forward.name == prerequisite.name
                and r.execution is not None
                and r.completed
                and (r.execution.closed_event_id or 0) < run.execution.scheduled_event_id
            ]
            if not before:
                problems.append(
                    f"{run.name} was scheduled (event #{run.execution.scheduled_event_id}) before "
                    f"{prerequisite.name}, which it depends on, had completed"
                )
    return problems
