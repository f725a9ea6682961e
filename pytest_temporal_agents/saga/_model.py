"""What a saga is made of: declared steps, and the executions the event history records.

A saga step is an activity or a child workflow, named the way Temporal matches it (the
registered activity name, the workflow type). The history keeps one execution per scheduled
activity or initiated child: its schedule and close events, its final status and, for an
activity, the last attempt the server recorded (earlier attempts leave no events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import HistoryEvent

from .._errors import HarnessUsageError
from .._sdk import activity_definition, workflow_class_of, workflow_definition
from ..history import CHILD, Call, parse_events, summarize_failure

Kind = Literal["activity", "workflow", "either"]

ACTIVITY: Final = "activity"
WORKFLOW: Final = "workflow"
#: A name given as a string: an activity or a child workflow, whichever the history has.
EITHER: Final = "either"

#: Status of an execution whose close event is not (yet) in the history.
RUNNING = "running"
COMPLETED = "completed"

NOT_A_STEP = """\
{value!r} cannot name a saga step: give an activity (an @activity.defn function or method),
a workflow class (@workflow.defn, for a step run as a child workflow) or a registered name
as a string, such as "reserve_capital"."""


@dataclass(frozen=True)
class StepRef:
    """An activity or child workflow, by the name Temporal knows it by."""

    name: str
    kind: Kind = EITHER

    def matches(self, execution: Execution) -> bool:
        return execution.name == self.name and self.kind in (EITHER, execution.kind)

    def __str__(self) -> str:
        return self.name


def step_ref(value: Any) -> StepRef:
    """The step an activity, a workflow class, a ``@workflow.run`` method or a name refers to.

    Raises:
        HarnessUsageError: the value names neither an activity nor a workflow.
    """
    if isinstance(value, StepRef):
        return value
    if isinstance(value, str):
        if not value:
            raise HarnessUsageError(NOT_A_STEP.format(value=value))
        return StepRef(value)
    if isinstance(value, type):
        defn = workflow_definition(value)
        if defn is not None and defn.name is not None:
            return StepRef(defn.name, WORKFLOW)
        raise HarnessUsageError(NOT_A_STEP.format(value=value))
    if callable(value):
        activity = activity_definition(value)
        if activity is not None and activity.name is not None:
            return StepRef(activity.name, ACTIVITY)
        owner = _workflow_class_of_run(value)
        if owner is not None:
            return step_ref(owner)
    raise HarnessUsageError(NOT_A_STEP.format(value=value))


def _workflow_class_of_run(fn: Callable[..., Any]) -> type | None:
    owner = workflow_class_of(fn)
    if owner is not None and workflow_definition(owner) is not None:
        return owner
    return None


@dataclass(frozen=True)
class Execution:
    """One scheduled activity or initiated child workflow, as the history records it.

    Attributes:
        kind: ``activity`` or ``workflow`` (a child).
        name: activity name or child workflow type.
        id: activity id or child workflow id.
        scheduled_event_id: its ActivityTaskScheduled / StartChildWorkflowExecutionInitiated.
        scheduled_time: that event's time (workflow time under time skipping).
        closed_event_id: its completion, failure, timeout or cancellation; None while open.
        closed_time: that event's time.
        status: ``completed``, ``failed``, ``timed_out``, ``canceled``, ``terminated``,
            ``start_failed`` or ``running``.
        attempt: the last attempt the server recorded (activities; 0 if none started).
        failure: ``message [type]`` chain of the failure that closed it, if any.
        input: its input payloads, as the workflow sent them.
        task_queue: the task queue it was scheduled on.
    """

    kind: str
    name: str
    id: str
    scheduled_event_id: int
    scheduled_time: datetime
    closed_event_id: int | None = None
    closed_time: datetime | None = None
    status: str = RUNNING
    attempt: int = 0
    failure: str | None = None
    input: Payloads | None = field(default=None, repr=False)
    task_queue: str = ""

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED

    @property
    def closed(self) -> bool:
        return self.closed_event_id is not None

    def events(self) -> str:
        """``#5-#7``: the schedule and close event ids (``#5-`` while open)."""
        return f"#{self.scheduled_event_id}-" + (f"#{self.closed_event_id}" if self.closed else "")

    def outcome(self) -> str:
        """``completed``, ``completed at attempt 3``, ``failed: boom [Boom]``, ``running``..."""
        text = self.status.replace("_", " ")
        if self.kind == ACTIVITY and self.attempt > 1:
            text += f" at attempt {self.attempt}"
        if self.failure:
            text += f": {self.failure}"
        return text


def parse_executions(events: Sequence[HistoryEvent]) -> list[Execution]:
    """Every activity and child workflow in the history, in the order they were scheduled."""
    return [_execution(call) for call in parse_events(events).calls]


def _execution(call: Call) -> Execution:
    failure = summarize_failure(call.failure) if call.failure is not None else None
    if call.start_failed_cause:
        failure = "could not start: " + call.start_failed_cause
    return Execution(
        kind=WORKFLOW if call.kind == CHILD else ACTIVITY,
        name=call.name,
        id=call.id,
        scheduled_event_id=call.scheduled_event_id,
        scheduled_time=call.scheduled_time,
        closed_event_id=call.closed_event_id,
        closed_time=call.closed_time,
        status=call.status if call.closed is not None else RUNNING,
        attempt=call.attempt,
        failure=failure,
        input=call.input,
        task_queue=call.task_queue,
    )


def step_names(refs: Sequence[StepRef]) -> str:
    """``'a', 'b' and 'c'`` for messages."""
    quoted = [repr(r.name) for r in refs]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
