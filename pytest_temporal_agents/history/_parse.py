"""The one pass over a workflow's events that everything else reads.

It pairs each scheduled activity and initiated child workflow with its start and close events
(a :class:`Call`), and collects timers, signals, updates, markers, the workflow's own
failures, whether a workflow task is in flight, and how the run ended. Events are told apart
by their ``event_type`` (what the server writes first), not by which attributes are set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, StartChildWorkflowExecutionFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.api.update.v1 import Request

from ._text import summarize_failure, summarize_payloads

ACTIVITY: Final = "activity"
CHILD: Final = "child workflow"

SCHEDULED: Final = "scheduled"  # an activity no worker has started yet
INITIATED: Final = "initiated"  # a child workflow the server has not started yet
STARTED: Final = "started"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
TIMED_OUT: Final = "timed_out"
CANCELED: Final = "canceled"
TERMINATED: Final = "terminated"
START_FAILED: Final = "start_failed"
RUNNING: Final = "running"

E = EventType

#: How a run closes, by its last event.
CLOSING_STATUS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


@dataclass
class Call:
    """One activity the workflow scheduled or child workflow it initiated, and what became of it.

    Attributes:
        kind: :data:`ACTIVITY` or :data:`CHILD`.
        name: the activity type or the child's workflow type.
        id: the activity id or the child's workflow id.
        scheduled: its ActivityTaskScheduled / StartChildWorkflowExecutionInitiated event.
        input: its input payloads, as the workflow sent them.
        task_queue: the task queue it was scheduled on.
        task_started: the WorkflowTaskStarted event of the workflow task that scheduled it.
        status: ``scheduled`` (activity) or ``initiated`` (child), then ``started``, then
            how it closed: ``completed``, ``failed``, ``timed_out``, ``canceled``,
            ``terminated`` (child) or ``start_failed`` (child).
        attempt: the last attempt the server recorded (activities; 0 if none started).
        run_id: the child's run id, once it started.
        started / closed: its start and close events, once they happened.
        result: its result, if it completed.
        failure: the failure its close event carries, if that event carries one.
        start_failed_cause: why the child could not start, such as ``workflow_already_exists``.
    """

    kind: str
    name: str
    id: str
    scheduled: HistoryEvent = field(repr=False)
    input: Payloads = field(repr=False)
    task_queue: str
    task_started: int
    status: str
    attempt: int = 0
    run_id: str = ""
    started: HistoryEvent | None = field(default=None, repr=False)
    closed: HistoryEvent | None = field(default=None, repr=False)
    result: Payloads | None = field(default=None, repr=False)
    failure: Failure | None = field(default=None, repr=False)
    start_failed_cause: str = ""

    @property
    def scheduled_event_id(self) -> int:
        return self.scheduled.event_id

    @property
    def scheduled_time(self) -> datetime:
        return self.scheduled.event_time.ToDatetime()

    @property
    def closed_event_id(self) -> int | None:
        return self.closed.event_id if self.closed is not None else None

    @property
    def closed_time(self) -> datetime | None:
        return self.closed.event_time.ToDatetime() if self.closed is not None else None


@dataclass(frozen=True)
class TimerRecord:
    timer_id: str
    duration: timedelta
    status: str  # started | fired | canceled
    started_event_id: int


@dataclass(frozen=True)
class SignalRecord:
    name: str
    input: str
    event_id: int
    time: datetime


@dataclass(frozen=True)
class UpdateRecord:
    """One update the workflow accepted (or rejected), and its outcome."""

    name: str
    update_id: str
    input: str
    status: str  # accepted | completed | failed | rejected
    event_id: int  # its WorkflowExecutionUpdateAccepted (or ...Rejected)
    result: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class MarkerRecord:
    """A MarkerRecorded event: a patch (``core_patch``), a local activity, a side effect."""

    name: str
    event_id: int
    details: Mapping[str, Payloads] = field(repr=False)


@dataclass
class ParsedEvents:
    """What a workflow's events say, paired up; see :func:`parse_events`."""

    events: Sequence[HistoryEvent] = field(repr=False)
    calls: list[Call] = field(default_factory=list)
    timers: list[TimerRecord] = field(default_factory=list)
    signals: list[SignalRecord] = field(default_factory=list)
    updates: list[UpdateRecord] = field(default_factory=list)
    markers: list[MarkerRecord] = field(default_factory=list)
    #: The first WorkflowExecutionStarted's attributes.
    started: WorkflowExecutionStartedEventAttributes | None = None
    #: Failed workflow tasks and a failed run: each event with its failure, in order.
    failures: list[tuple[HistoryEvent, Failure]] = field(default_factory=list)
    #: The failure of the (last) WorkflowExecutionFailed event.
    workflow_failure: Failure | None = None
    #: The last workflow task scheduled has not completed, failed or timed out.
    workflow_task_in_flight: bool = False

    @property
    def activities(self) -> list[Call]:
        return [call for call in self.calls if call.kind == ACTIVITY]

    @property
    def children(self) -> list[Call]:
        return [call for call in self.calls if call.kind == CHILD]

    @property
    def status(self) -> str:
        """``running`` or how the run closed (completed, failed, terminated, ...)."""
        return CLOSING_STATUS.get(self.events[-1].event_type, RUNNING) if self.events else RUNNING

    def activity_names(self) -> dict[int, str]:
        """Activity names by the id of their ActivityTaskScheduled event."""
        return {call.scheduled_event_id: call.name for call in self.activities}

    def event(self, event_id: int | None) -> HistoryEvent | None:
        """The event with this id, if the history has it."""
        events = self.events
        if event_id is None or not 0 < event_id <= len(events):
            return None
        event = events[event_id - 1]
        if event.event_id == event_id:
            return event
        return next((e for e in events if e.event_id == event_id), None)


def parse_events(events: Sequence[HistoryEvent]) -> ParsedEvents:
    """Read a workflow's events once, in order, pairing each start and close with its origin."""
    parser = _Parser(ParsedEvents(events))
    for event in events:
        handle = _HANDLERS.get(event.event_type)
        if handle is not None:
            handle(parser, event)
    parser.finish()
    return parser.parsed


class _Parser:
    def __init__(self, parsed: ParsedEvents) -> None:
        self.parsed = parsed
        self.calls: dict[int, Call] = {}  # by scheduled / initiated event id
        self.timers: dict[str, TimerRecord] = {}
        self.updates: dict[int, UpdateRecord] = {}  # by accepted event id
        # Commands follow the WorkflowTaskCompleted of the task that issued them, so that task
        # is the last one started. (The Java test server leaves WorkflowTaskCompleted's own
        # started_event_id unset, so that field cannot be relied on.)
        self.task_started = 0

    def finish(self) -> None:
        self.parsed.calls = list(self.calls.values())
        self.parsed.timers = list(self.timers.values())
        self.parsed.updates = list(self.updates.values())

    # -- the workflow and its tasks ----------------------------------------------------------
    def workflow_started(self, event: HistoryEvent) -> None:
        if self.parsed.started is None:
            self.parsed.started = event.workflow_execution_started_event_attributes

    def workflow_failed(self, event: HistoryEvent) -> None:
        failure = event.workflow_execution_failed_event_attributes.failure
        self.parsed.workflow_failure = failure
        self.parsed.failures.append((event, failure))

    def task_scheduled(self, event: HistoryEvent) -> None:
        self.parsed.workflow_task_in_flight = True

    def task_began(self, event: HistoryEvent) -> None:
        self.task_started = event.event_id

    def task_ended(self, event: HistoryEvent) -> None:
        self.parsed.workflow_task_in_flight = False

    def task_failed(self, event: HistoryEvent) -> None:
        self.parsed.workflow_task_in_flight = False
        self.parsed.failures.append((event, event.workflow_task_failed_event_attributes.failure))

    # -- activities and child workflows ------------------------------------------------------
    def activity_scheduled(self, event: HistoryEvent) -> None:
        a = event.activity_task_scheduled_event_attributes
        self._schedule(event, ACTIVITY, a.activity_type.name, a.activity_id, a)

    def child_initiated(self, event: HistoryEvent) -> None:
        c = event.start_child_workflow_execution_initiated_event_attributes
        self._schedule(event, CHILD, c.workflow_type.name, c.workflow_id, c)

    def _schedule(self, event: HistoryEvent, kind: str, name: str, ident: str, attrs: Any) -> None:
        status = SCHEDULED if kind == ACTIVITY else INITIATED
        self.calls[event.event_id] = Call(
            kind, name, ident, event, attrs.input, attrs.task_queue.name, self.task_started, status
        )

    def activity_started(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_started_event_attributes
        call = self.calls.get(attrs.scheduled_event_id)
        if call is not None:
            call.status, call.attempt, call.started = STARTED, attrs.attempt, event

    def child_started(self, event: HistoryEvent) -> None:
        attrs = event.child_workflow_execution_started_event_attributes
        call = self.calls.get(attrs.initiated_event_id)
        if call is not None:
            call.status, call.run_id, call.started = STARTED, attrs.workflow_execution.run_id, event

    def close(self, event: HistoryEvent) -> None:
        field_name, status, key = _CLOSES[event.event_type]
        attrs = getattr(event, field_name)
        call = self.calls.get(getattr(attrs, key))
        if call is None:
            return
        call.status, call.closed = status, event
        if status == COMPLETED:
            call.result = attrs.result
        elif status == START_FAILED:
            call.start_failed_cause = _start_failed_cause(attrs.cause)
        if hasattr(attrs, "failure") and attrs.HasField("failure"):
            call.failure = attrs.failure

    # -- timers, signals, updates, markers ----------------------------------------------------
    def timer_started(self, event: HistoryEvent) -> None:
        attrs = event.timer_started_event_attributes
        self.timers[attrs.timer_id] = TimerRecord(
            attrs.timer_id, attrs.start_to_fire_timeout.ToTimedelta(), STARTED, event.event_id
        )

    def timer_fired(self, event: HistoryEvent) -> None:
        self._timer_ends(event.timer_fired_event_attributes.timer_id, "fired")

    def timer_canceled(self, event: HistoryEvent) -> None:
        self._timer_ends(event.timer_canceled_event_attributes.timer_id, CANCELED)

    def _timer_ends(self, timer_id: str, status: str) -> None:
        if timer_id in self.timers:
            self.timers[timer_id] = dataclasses.replace(self.timers[timer_id], status=status)

    def signaled(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_signaled_event_attributes
        input = summarize_payloads(attrs.input)
        time = event.event_time.ToDatetime()
        self.parsed.signals.append(SignalRecord(attrs.signal_name, input, event.event_id, time))

    def update_accepted(self, event: HistoryEvent) -> None:
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        self._update(event, request, "accepted")

    def update_rejected(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_update_rejected_event_attributes
        self._update(event, attrs.rejected_request, "rejected", summarize_failure(attrs.failure))

    def _update(self, event: HistoryEvent, request: Request, status: str, failure: str | None = None) -> None:
        name, args = request.input.name, summarize_payloads(request.input.args)
        self.updates[event.event_id] = UpdateRecord(
            name, request.meta.update_id, args, status, event.event_id, failure=failure
        )

    def update_completed(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_update_completed_event_attributes
        update = self.updates.get(attrs.accepted_event_id)
        if update is None:
            return
        outcome = attrs.outcome
        if outcome.HasField("failure"):
            done = dataclasses.replace(update, status=FAILED, failure=summarize_failure(outcome.failure))
        else:
            done = dataclasses.replace(update, status=COMPLETED, result=summarize_payloads(outcome.success))
        self.updates[attrs.accepted_event_id] = done

    def marker(self, event: HistoryEvent) -> None:
        attrs = event.marker_recorded_event_attributes
        self.parsed.markers.append(MarkerRecord(attrs.marker_name, event.event_id, attrs.details))


def _start_failed_cause(cause: StartChildWorkflowExecutionFailedCause.ValueType) -> str:
    name = StartChildWorkflowExecutionFailedCause.Name(cause)
    return name.removeprefix("START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_").lower()


#: Close events of activities and children: (attributes field, status, field naming the call).
_CLOSES: dict[int, tuple[str, str, str]] = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ("activity_task_completed_event_attributes", COMPLETED, "scheduled_event_id"),
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("activity_task_failed_event_attributes", FAILED, "scheduled_event_id"),
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ("activity_task_timed_out_event_attributes", TIMED_OUT, "scheduled_event_id"),
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ("activity_task_canceled_event_attributes", CANCELED, "scheduled_event_id"),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: ("child_workflow_execution_completed_event_attributes", COMPLETED, "initiated_event_id"),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: ("child_workflow_execution_failed_event_attributes", FAILED, "initiated_event_id"),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: ("child_workflow_execution_canceled_event_attributes", CANCELED, "initiated_event_id"),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: ("child_workflow_execution_timed_out_event_attributes", TIMED_OUT, "initiated_event_id"),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: ("child_workflow_execution_terminated_event_attributes", TERMINATED, "initiated_event_id"),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: ("start_child_workflow_execution_failed_event_attributes", START_FAILED, "initiated_event_id"),
}  # fmt: skip

_HANDLERS: dict[int, Callable[[_Parser, HistoryEvent], None]] = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: _Parser.workflow_started,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: _Parser.workflow_failed,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: _Parser.task_scheduled,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED: _Parser.task_began,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: _Parser.task_ended,
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: _Parser.task_ended,
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED: _Parser.task_failed,
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _Parser.activity_scheduled,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED: _Parser.activity_started,
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: _Parser.child_initiated,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: _Parser.child_started,
    **{event_type: _Parser.close for event_type in _CLOSES},
    E.EVENT_TYPE_TIMER_STARTED: _Parser.timer_started,
    E.EVENT_TYPE_TIMER_FIRED: _Parser.timer_fired,
    E.EVENT_TYPE_TIMER_CANCELED: _Parser.timer_canceled,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _Parser.signaled,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _Parser.update_accepted,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED: _Parser.update_rejected,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: _Parser.update_completed,
    E.EVENT_TYPE_MARKER_RECORDED: _Parser.marker,
}
