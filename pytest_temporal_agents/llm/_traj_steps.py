"""One step of an agent's trajectory, how a step is named, and how steps read as a timeline."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from .._errors import HarnessUsageError
from .._sdk import activity_definition, workflow_class_of, workflow_definition
from ..history import format_offset

MODEL: Final = "model"
TOOL: Final = "tool"

#: How a step was called: ``Step.call``.
ACTIVITY_CALL: Final = "activity"
LOCAL_ACTIVITY_CALL: Final = "local activity"
CHILD_WORKFLOW_CALL: Final = "child workflow"

#: How long the arguments and the result of a step may be on a timeline line.
VALUE_LIMIT = 60

NOT_A_STEP = """\
{target!r} does not name a model or tool call: pass an activity (a function decorated
with @activity.defn), a workflow class or its @workflow.run method, or the registered name
as a string."""


@dataclass(frozen=True)
class Step:
    """One model call or tool call of an agent, as the workflow's history tells it.

    Attributes:
        number: the step's place on the timeline, from 1: ``"3"``, or ``"3.2"`` for the
            second step of the child workflow that step 3 started.
        kind: ``"model"`` or ``"tool"``.
        name: the activity's or the child workflow's registered name.
        call: ``"activity"``, ``"local activity"`` or ``"child workflow"``.
        id: the activity id, or the child's workflow id.
        args: the arguments, decoded (to the declared types where the definition is known);
            None where the history does not keep them (a local activity that the harness
            did not run).
        result: the decoded result; None unless the call completed.
        status: ``completed``, ``failed``, ``timed_out``, ``canceled``, ``terminated``,
            ``start_failed``, or, while it runs, ``scheduled``/``initiated``/``started``.
        failure: how the call failed (``message [type]``), if it did.
        attempts: how many attempts ran: the harness's record of every attempt where it has
            one, else the last attempt the server recorded (1 for a child workflow).
        attempt_errors: what each failed attempt raised, as the harness recorded it (the
            server keeps only the last attempt).
        time: workflow time from the start of the workflow the trajectory is of to the call.
        duration: workflow time from the call to its end; None while it runs (and for
            local activities, whose start the history does not keep).
        workflow_id: the workflow that made the call.
        depth: 0 for the workflow's own calls, 1 for its children's, and so on.
    """

    number: str
    kind: str
    name: str
    call: str
    id: str
    args: tuple[Any, ...] | None
    result: Any
    status: str
    failure: str | None
    attempts: int
    attempt_errors: tuple[str, ...]
    time: timedelta
    duration: timedelta | None
    workflow_id: str
    depth: int = 0

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return max(self.attempts - 1, 0)

    @property
    def is_model_call(self) -> bool:
        return self.kind == MODEL

    @property
    def is_tool_call(self) -> bool:
        return self.kind == TOOL

    def describe(self) -> str:
        """``call_model('Paris?') -> 'sunny'``: the call and what became of it, on one line."""
        args = "?" if self.args is None else short(self.args)
        where = "" if self.call == ACTIVITY_CALL else f"[{self.call}] "
        text = f"{where}{self.name}({args})"
        if self.status == "completed":
            text += f" -> {short((self.result,))}"
        elif self.failure:
            text += f" -> {self.status.replace('_', ' ')}: {self.failure}"
        else:
            text += f" -> {self.status.replace('_', ' ')}"
        if self.attempts > 1:
            text += f" ({self.attempts} attempts)"
        return text


def short(values: Sequence[Any], limit: int = VALUE_LIMIT) -> str:
    """Values as their reprs, comma-separated, cut at ``limit`` characters."""
    text = ", ".join(repr(value) for value in values)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_name(target: Callable[..., Any] | type | str) -> str:
    """The registered name of an activity, a workflow (class or run method), or the name itself.

    Raises:
        HarnessUsageError: ``target`` is none of those.
    """
    if isinstance(target, str):
        return target
    activity = activity_definition(target)
    if activity is not None and activity.name:
        return activity.name
    workflow = workflow_definition(workflow_class_of(target))
    if workflow is not None and workflow.name:
        return workflow.name
    raise HarnessUsageError(NOT_A_STEP.format(target=target))


def render_steps(steps: Sequence[Step], marks: Collection[str] = ()) -> list[str]:
    """One line per step, and one more per failed attempt: flag, number, time, kind, call.

    Args:
        marks: numbers of the steps to flag with ``>>``.
    """
    if not steps:
        return ["  (no model or tool calls)"]
    width = max(len(step.number) for step in steps)
    lines = []
    for step in steps:
        flag = ">>" if step.number in marks else "  "
        head = f"{flag} {step.number:>{width}}  {format_offset(step.time):>8}  {step.kind:<5}  "
        indent = " " * len(head) + "  " * step.depth
        lines.append(f"{head}{'  ' * step.depth}{step.describe()}")
        lines.extend(f"{indent}  {error}" for error in step.attempt_errors)
    return lines
