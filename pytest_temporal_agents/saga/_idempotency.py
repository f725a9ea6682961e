"""Idempotent compensations: run each compensation again, as a duplicate delivery would.

Temporal delivers an activity at least once: a worker that dies after the side effect but
before reporting it gets the activity retried. A compensation must therefore be harmless the
second time. Each compensation that completed is re-run with the input the history recorded
(decoded to the activity's declared parameter types), and a user-supplied probe of the state
(the broker ledger, say) must read the same before and after.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import difflib
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._context import INTERNAL_PREFIX
from .._errors import HarnessUsageError
from .._sdk import activity_definition, must_activity_definition, workflow_name
from ._model import ACTIVITY, Execution

if TYPE_CHECKING:
    from .._context import TestContext
    from ._analysis import SagaAnalysis

#: A probe or an invariant: a function of no arguments (may be async) that reads the state.
StateFunction = Callable[[], Any]

#: Activities the harness registers for itself (mocked children...): never re-run.

NOTHING_RAN = """\
no compensation of this saga completed, so there is nothing to re-run. Make the saga fail
after a step that has a compensation first (inject a fault: see strategies.saga_failures)."""

UNKNOWN_ACTIVITY = """\
temporal.saga(...).assert_idempotent_compensations() cannot re-run {name!r}: no worker of this
test registered an activity of that name.{suggestion} Known activities: {known}.
Pass the activity: assert_idempotent_compensations(probe, activities=[{name}])."""

UNKNOWN_WORKFLOW = """\
temporal.saga(...).assert_idempotent_compensations() cannot re-run the child workflow {name!r}:
no worker of this test registered it. Registered workflows: {known}.
Register it on the test's worker (workflows=[...])."""

BAD_REPEAT = """\
assert_idempotent_compensations(..., repeat={value!r}) is invalid: give how many times to re-run
each compensation, 1 or more."""


@dataclass
class Rerun:
    """One re-run of a compensation and what it did to the probed state.

    Attributes:
        compensation: the compensation's name (activity or child workflow type).
        undoing: the forward step it compensates.
        execution: the compensation's execution in the history.
        args: the input it was re-run with, decoded (activities) or raw (child workflows).
        result: what the re-run returned (None if it raised).
        error: what it raised, if it did.
        before / after: the probe's readings around the re-run.
    """

    compensation: str
    undoing: str
    execution: Execution
    args: tuple[Any, ...]
    result: Any = None
    error: BaseException | None = None
    before: Any = None
    after: Any = None

    @property
    def changed(self) -> bool:
        return bool(self.before != self.after)


def remember(activities: Sequence[Callable[..., Any]], registry: dict[str, Callable[..., Any]]) -> None:
    """Record each activity by name, as it runs without the fault wrappers around it."""
    for fn in activities:
        while getattr(fn, "__pta_faults__", None) is not None and hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        defn = activity_definition(fn)
        if defn is not None and defn.name and not defn.name.startswith(INTERNAL_PREFIX):
            registry[defn.name] = fn


async def rerun_compensations(
    ctx: TestContext,
    analysis: SagaAnalysis,
    probe: Callable[[], Any],
    *,
    registered: dict[str, Callable[..., Any]],
    extra: Sequence[Callable[..., Any]] = (),
    repeat: int = 1,
) -> tuple[list[Rerun], list[str]]:
    """Re-run every compensation that completed; return the re-runs and the problems."""
    check_repeat(repeat)
    activities = dict(registered)
    remember(extra, activities)
    targets = _completed_compensations(analysis)
    if not targets:
        return [], [NOTHING_RAN.replace("\n", " ")]
    reruns: list[Rerun] = []
    problems: list[str] = []
    for undoing, execution in targets:
        for _ in range(repeat):
            rerun = Rerun(execution.name, undoing, execution, ())
            rerun.before = _frozen(await call_state_function(probe))
            try:
                if execution.kind == ACTIVITY:
                    await _rerun_activity(ctx, analysis, execution, activities, rerun)
                else:
                    await _rerun_child(ctx, execution, activities, rerun)
            except HarnessUsageError:
                raise
            except Exception as err:  # noqa: BLE001 - a failing re-run is the finding
                rerun.error = err
            rerun.after = _frozen(await call_state_function(probe))
            reruns.append(rerun)
            problem = _problem(rerun)
            if problem:
                problems.append(problem)
    return reruns, problems


def check_repeat(repeat: object) -> None:
    """Raise HarnessUsageError unless ``repeat`` is a count of 1 or more."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise HarnessUsageError(BAD_REPEAT.format(value=repeat))


def _completed_compensations(analysis: SagaAnalysis) -> list[tuple[str, Execution]]:
    found = [(r.name, c) for r in analysis.runs for c in r.compensations if c.completed]
    found += [(s.forward.name, e) for s, e in analysis.stray if e.completed]
    return sorted(found, key=lambda pair: pair[1].scheduled_event_id)


async def _rerun_activity(
    ctx: TestContext,
    analysis: SagaAnalysis,
    execution: Execution,
    activities: dict[str, Callable[..., Any]],
    rerun: Rerun,
) -> None:
    from temporalio.testing import ActivityEnvironment

    fn = activities.get(execution.name)
    if fn is None:
        close = difflib.get_close_matches(execution.name, sorted(activities), n=3)
        raise HarnessUsageError(
            UNKNOWN_ACTIVITY.format(
                name=execution.name,
                suggestion=f" Did you mean {' or '.join(map(repr, close))}?" if close else "",
                known=", ".join(sorted(activities)) or "none",
            )
        )
    defn = must_activity_definition(fn)
    payloads = list(execution.input.payloads) if execution.input is not None else []
    hints = defn.arg_types if defn.arg_types and len(defn.arg_types) == len(payloads) else None
    converter = ctx.client.data_converter
    rerun.args = tuple(await converter.decode(payloads, hints))
    env = ActivityEnvironment(client=ctx.client)
    env.payload_converter = converter.payload_converter
    # The original call, one attempt later: what a duplicate delivery looks like to it.
    env.info = dataclasses.replace(
        env.info,
        activity_id=execution.id,
        activity_type=execution.name,
        attempt=max(execution.attempt, 1) + 1,
        task_queue=execution.task_queue or ctx.task_queue,
        workflow_id=analysis.workflow_id,
        workflow_type=analysis.workflow_type,
        namespace=ctx.client.namespace,
        workflow_namespace=ctx.client.namespace,
    )
    if defn.is_async:
        rerun.result = await env.run(fn, *rerun.args)
    else:
        rerun.result = await asyncio.to_thread(env.run, fn, *rerun.args)


async def _rerun_child(
    ctx: TestContext,
    execution: Execution,
    activities: dict[str, Callable[..., Any]],
    rerun: Rerun,
) -> None:
    from temporalio.common import RawValue

    payloads = list(execution.input.payloads) if execution.input is not None else []
    # The payloads exactly as the parent sent them; the same workflow id, so that keys the
    # child derives from its id are the same, as on a real duplicate start.
    args = [RawValue(p) for p in payloads]
    rerun.args = tuple(await ctx.client.data_converter.decode(payloads))
    queue = execution.task_queue or ctx.task_queue
    async with _worker_serving(ctx, queue, execution.name, activities):
        handle = await ctx.client.start_workflow(
            execution.name, args=args, id=execution.id, task_queue=queue
        )
        rerun.result = await ctx.result(handle)


@asynccontextmanager
async def _worker_serving(
    ctx: TestContext, queue: str, name: str, activities: dict[str, Callable[..., Any]]
) -> AsyncIterator[None]:
    polling = ctx.polling(queue)
    if any(name in {workflow_name(w) for w in p.workflows} for p in polling):
        yield
        return
    cls = ctx.registered_workflows.get(name)
    if cls is None:
        known = ", ".join(sorted(ctx.registered_workflows)) or "none"
        raise HarnessUsageError(UNKNOWN_WORKFLOW.format(name=name, known=known))
    if polling:
        await ctx.ensure_worker("saga", cls, queue, [cls], None)
        yield
        return
    async with ctx.worker(
        workflows=list(ctx.registered_workflows.values()), activities=list(activities.values()), task_queue=queue
    ):
        yield


def _frozen(value: Any) -> Any:
    """A copy of a probe's reading, so that later changes to a live object do not hide one."""
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an uncopyable reading is compared as it is
        return value


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def difference(before: Any, after: Any) -> str:
    """``cash 100000.0 -> 97904.5, reserved 0 -> 2095.5``: what changed, field by field."""
    if dataclasses.is_dataclass(before) and type(before) is type(after):
        changed = [
            f"{f.name} {_short(getattr(before, f.name), 40)} -> {_short(getattr(after, f.name), 40)}"
            for f in dataclasses.fields(before)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        return ", ".join(changed)
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in {**before, **after} if before.get(k, _MISSING) != after.get(k, _MISSING)]
        return ", ".join(
            f"[{k!r}] {_short(before.get(k, _MISSING), 40)} -> {_short(after.get(k, _MISSING), 40)}" for k in keys
        )
    return f"{_short(before)} -> {_short(after)}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _problem(rerun: Rerun) -> str | None:
    call = f"{rerun.compensation}{_short(rerun.args)}" if len(rerun.args) != 1 else (
        f"{rerun.compensation}({_short(rerun.args[0])})"
    )
    where = f"undoing {rerun.undoing}, first run events {rerun.execution.events()}"
    if rerun.error is not None:
        err = rerun.error
        message = getattr(err, "message", None) or str(err)
        kind = getattr(err, "type", None) or type(err).__name__
        return (
            f"re-running {call} ({where}) raised {kind}: {message}; a compensation delivered twice "
            "must succeed the second time too (or do nothing)"
        )
    if rerun.changed:
        return (
            f"re-running {call} ({where}) changed the state: {difference(rerun.before, rerun.after)}; "
            "a compensation delivered twice must change nothing the second time"
        )
    return None


async def call_state_function(function: StateFunction) -> Any:
    """Call a probe or invariant, awaiting it if it is async."""
    value = function()
    if inspect.isawaitable(value):
        value = await value
    return value
