"""Real event histories: load, save, query, and render as a readable timeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

#: Workflow-task bookkeeping events: hidden from timelines unless asked for.
_WORKFLOW_TASK_NOISE = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
)

_CLOSING_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


def event_name(event: HistoryEvent) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled``."""
    raw = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in raw.split("_"))


def summarize_payloads(payloads: Payloads | None, limit: int = 80) -> str:
    """A short, human-readable rendering of payloads (JSON shown as JSON)."""
    if payloads is None or not payloads.payloads:
        return ""
    parts = []
    for payload in payloads.payloads:
        encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
        if encoding == "binary/null":
            parts.append("None")
        elif encoding.startswith("json"):
            parts.append(payload.data.decode(errors="replace"))
        else:
            parts.append(f"<{encoding or 'unknown'} {len(payload.data)} bytes>")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_failure(failure: Failure) -> str:
    """``message [type]`` for a failure and each of its causes, joined by ``<-``."""
    parts = []
    current: Failure | None = failure
    while current is not None and (current.message or current.ByteSize()):
        label = ""
        if current.HasField("application_failure_info"):
            info = current.application_failure_info
            label = info.type or "ApplicationError"
            if info.non_retryable:
                label += ", non-retryable"
        elif current.HasField("timeout_failure_info"):
            label = TimeoutType.Name(current.timeout_failure_info.timeout_type).removeprefix(
                "TIMEOUT_TYPE_"
            )
        elif current.HasField("canceled_failure_info"):
            label = "canceled"
        elif current.HasField("terminated_failure_info"):
            label = "terminated"
        elif current.HasField("activity_failure_info"):
            label = "activity " + current.activity_failure_info.activity_type.name
        elif current.HasField("child_workflow_execution_failure_info"):
            label = "child " + current.child_workflow_execution_failure_info.workflow_type.name
        parts.append(f"{current.message} [{label}]" if label else current.message)
        current = current.cause if current.HasField("cause") else None
    return " <- ".join(parts)


def _failure_type(failure: Failure) -> str | None:
    """The most specific failure type: application type or timeout type, searching causes."""
    current: Failure | None = failure
    while current is not None:
        if current.HasField("application_failure_info"):
            return current.application_failure_info.type or "ApplicationError"
        if current.HasField("timeout_failure_info"):
            return TimeoutType.Name(current.timeout_failure_info.timeout_type)
        current = current.cause if current.HasField("cause") else None
    return None


def format_offset(delta: timedelta) -> str:
    """``+0.012s``, ``+42s``, ``+3m05s``, ``+2h00m``, ``+30d00h``: short and sortable by eye."""
    seconds = delta.total_seconds()
    if seconds < 10:
        return f"+{seconds:.3f}s"
    if seconds < 60:
        return f"+{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"+{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"+{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"+{days}d{hours:02d}h"


@dataclass(frozen=True)
class ActivityRecord:
    """One scheduled activity as the history tells it (its final attempt)."""

    name: str
    activity_id: str
    scheduled_event_id: int
    status: str  # scheduled | started | completed | failed | timed_out | canceled
    attempt: int  # the last attempt the server recorded; 0 if none started
    input: str
    result: str | None = None
    failure: str | None = None
    failure_type: str | None = None


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
class ChildRecord:
    workflow_type: str
    workflow_id: str
    status: str  # initiated | started | completed | failed | canceled | timed_out | terminated
    initiated_event_id: int


class History:
    """A workflow's real event history with queries and a text timeline.

    Wraps the SDK's :class:`temporalio.client.WorkflowHistory`; ``raw`` gives it back
    for the SDK's own replayer.
    """

    def __init__(self, raw: WorkflowHistory) -> None:
        self.raw = raw

    # -- identity ---------------------------------------------------------------
    @property
    def workflow_id(self) -> str:
        return self.raw.workflow_id

    @property
    def events(self) -> Sequence[HistoryEvent]:
        return self.raw.events

    @property
    def workflow_type(self) -> str:
        for event in self.events:
            if event.HasField("workflow_execution_started_event_attributes"):
                return event.workflow_execution_started_event_attributes.workflow_type.name
        return "<unknown>"

    @property
    def status(self) -> str:
        """``running`` or how the run closed (completed, failed, terminated, ...)."""
        if self.events:
            return _CLOSING_STATUS.get(self.events[-1].event_type, "running")
        return "running"

    # -- queries -------------------------------------------------------------------
    def activities(self, name: str | None = None) -> list[ActivityRecord]:
        """Every scheduled activity (optionally only those named ``name``), in order."""
        records: dict[int, dict[str, Any]] = {}
        for event in self.events:
            if event.HasField("activity_task_scheduled_event_attributes"):
                attrs = event.activity_task_scheduled_event_attributes
                records[event.event_id] = dict(
                    name=attrs.activity_type.name,
                    activity_id=attrs.activity_id,
                    scheduled_event_id=event.event_id,
                    status="scheduled",
                    attempt=0,
                    input=summarize_payloads(attrs.input),
                )
            elif event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                record = records.get(started.scheduled_event_id)
                if record is not None:
                    record.update(status="started", attempt=started.attempt)
            else:
                self._apply_activity_outcome(event, records)
        found = [ActivityRecord(**r) for r in records.values()]
        return [r for r in found if name is None or r.name == name]

    @staticmethod
    def _apply_activity_outcome(event: HistoryEvent, records: dict[int, dict[str, Any]]) -> None:
        if event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes
            if done.scheduled_event_id in records:
                records[done.scheduled_event_id].update(
                    status="completed", result=summarize_payloads(done.result)
                )
        elif event.HasField("activity_task_failed_event_attributes"):
            failed = event.activity_task_failed_event_attributes
            if failed.scheduled_event_id in records:
                records[failed.scheduled_event_id].update(
                    status="failed",
                    failure=summarize_failure(failed.failure),
                    failure_type=_failure_type(failed.failure),
                )
        elif event.HasField("activity_task_timed_out_event_attributes"):
            timed_out = event.activity_task_timed_out_event_attributes
            if timed_out.scheduled_event_id in records:
                records[timed_out.scheduled_event_id].update(
                    status="timed_out",
                    failure=summarize_failure(timed_out.failure),
                    failure_type=_failure_type(timed_out.failure),
                )
        elif event.HasField("activity_task_canceled_event_attributes"):
            canceled = event.activity_task_canceled_event_attributes
            if canceled.scheduled_event_id in records:
                records[canceled.scheduled_event_id].update(status="canceled")

    def activity_names(self) -> list[str]:
        """Names of scheduled activities in schedule order (repeats kept)."""
        return [record.name for record in self.activities()]

    def timers(self) -> list[TimerRecord]:
        found: dict[str, dict[str, Any]] = {}
        for event in self.events:
            if event.HasField("timer_started_event_attributes"):
                attrs = event.timer_started_event_attributes
                found[attrs.timer_id] = dict(
                    timer_id=attrs.timer_id,
                    duration=attrs.start_to_fire_timeout.ToTimedelta(),
                    status="started",
                    started_event_id=event.event_id,
                )
            elif event.HasField("timer_fired_event_attributes"):
                timer_id = event.timer_fired_event_attributes.timer_id
                if timer_id in found:
                    found[timer_id]["status"] = "fired"
            elif event.HasField("timer_canceled_event_attributes"):
                timer_id = event.timer_canceled_event_attributes.timer_id
                if timer_id in found:
                    found[timer_id]["status"] = "canceled"
        return [TimerRecord(**t) for t in found.values()]

    def signals(self, name: str | None = None) -> list[SignalRecord]:
        return [
            SignalRecord(
                name=attrs.signal_name,
                input=summarize_payloads(attrs.input),
                event_id=event.event_id,
                time=event.event_time.ToDatetime(),
            )
            for event in self.events
            if event.HasField("workflow_execution_signaled_event_attributes")
            for attrs in [event.workflow_execution_signaled_event_attributes]
            if name is None or attrs.signal_name == name
        ]

    def children(self) -> list[ChildRecord]:
        found: dict[int, dict[str, Any]] = {}
        outcome_fields = {
            "child_workflow_execution_started_event_attributes": "started",
            "child_workflow_execution_completed_event_attributes": "completed",
            "child_workflow_execution_failed_event_attributes": "failed",
            "child_workflow_execution_canceled_event_attributes": "canceled",
            "child_workflow_execution_timed_out_event_attributes": "timed_out",
            "child_workflow_execution_terminated_event_attributes": "terminated",
            "start_child_workflow_execution_failed_event_attributes": "start_failed",
        }
        for event in self.events:
            if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
                attrs = event.start_child_workflow_execution_initiated_event_attributes
                found[event.event_id] = dict(
                    workflow_type=attrs.workflow_type.name,
                    workflow_id=attrs.workflow_id,
                    status="initiated",
                    initiated_event_id=event.event_id,
                )
                continue
            for field_name, status in outcome_fields.items():
                if event.HasField(field_name):  # type: ignore[arg-type]
                    initiated = getattr(event, field_name).initiated_event_id
                    if initiated in found:
                        found[initiated]["status"] = status
                    break
        return [ChildRecord(**c) for c in found.values()]

    def failure(self) -> str | None:
        """The failure that closed the workflow, if it failed."""
        for event in reversed(self.events):
            if event.HasField("workflow_execution_failed_event_attributes"):
                return summarize_failure(event.workflow_execution_failed_event_attributes.failure)
        return None

    # -- rendering ------------------------------------------------------------------
    def timeline(self, *, workflow_tasks: bool = False, max_events: int | None = 200) -> str:
        """The history as one line per event: number, workflow time offset, event, details.

        Args:
            workflow_tasks: include workflow-task scheduled/started/completed bookkeeping.
            max_events: show at most this many events (first and last halves), or all if None.
        """
        return render_timeline(self.events, workflow_tasks=workflow_tasks, max_events=max_events)

    def __str__(self) -> str:
        return (
            f"workflow {self.workflow_id} ({self.workflow_type}), status {self.status}\n"
            + self.timeline()
        )

    # -- persistence ----------------------------------------------------------------------
    def to_json(self) -> str:
        return self.raw.to_json()

    def save(self, path: str | Path) -> Path:
        """Write the history as JSON (the format ``temporal workflow show -o json`` writes)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.raw.to_json_dict(), indent=2) + "\n")
        return target

    @classmethod
    def from_json(cls, workflow_id: str, data: str | dict[str, Any]) -> History:
        return cls(WorkflowHistory.from_json(workflow_id, data))

    @classmethod
    def load(cls, path: str | Path, workflow_id: str | None = None) -> History:
        path = Path(path)
        return cls.from_json(workflow_id or path.stem, path.read_text())


def describe_event(event: HistoryEvent, names: dict[int, str] | None = None) -> str:
    """The details column of a timeline line: what happened, to what, with what."""
    names = names if names is not None else {}
    if event.HasField("workflow_execution_started_event_attributes"):
        a = event.workflow_execution_started_event_attributes
        return f"{a.workflow_type.name}({summarize_payloads(a.input)}) on {a.task_queue.name}"
    if event.HasField("activity_task_scheduled_event_attributes"):
        a1 = event.activity_task_scheduled_event_attributes
        return f"{a1.activity_type.name}({summarize_payloads(a1.input)}) id={a1.activity_id}"
    if event.HasField("activity_task_started_event_attributes"):
        a2 = event.activity_task_started_event_attributes
        return f"{names.get(a2.scheduled_event_id, '?')} attempt {a2.attempt}"
    if event.HasField("activity_task_completed_event_attributes"):
        a3 = event.activity_task_completed_event_attributes
        return f"{names.get(a3.scheduled_event_id, '?')} -> {summarize_payloads(a3.result)}"
    if event.HasField("activity_task_failed_event_attributes"):
        a4 = event.activity_task_failed_event_attributes
        return f"{names.get(a4.scheduled_event_id, '?')}: {summarize_failure(a4.failure)}"
    if event.HasField("activity_task_timed_out_event_attributes"):
        a5 = event.activity_task_timed_out_event_attributes
        return f"{names.get(a5.scheduled_event_id, '?')}: {summarize_failure(a5.failure)}"
    if event.HasField("timer_started_event_attributes"):
        t = event.timer_started_event_attributes
        duration = t.start_to_fire_timeout.ToTimedelta()
        return f"timer {t.timer_id} for {format_offset(duration).lstrip('+')}"
    if event.HasField("timer_fired_event_attributes"):
        return f"timer {event.timer_fired_event_attributes.timer_id}"
    if event.HasField("timer_canceled_event_attributes"):
        return f"timer {event.timer_canceled_event_attributes.timer_id}"
    if event.HasField("workflow_execution_signaled_event_attributes"):
        s = event.workflow_execution_signaled_event_attributes
        return f"{s.signal_name}({summarize_payloads(s.input)})"
    if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
        c = event.start_child_workflow_execution_initiated_event_attributes
        return f"{c.workflow_type.name} id={c.workflow_id}"
    if event.HasField("child_workflow_execution_completed_event_attributes"):
        cc = event.child_workflow_execution_completed_event_attributes
        return f"{cc.workflow_type.name} -> {summarize_payloads(cc.result)}"
    if event.HasField("child_workflow_execution_failed_event_attributes"):
        cf = event.child_workflow_execution_failed_event_attributes
        return f"{cf.workflow_type.name}: {summarize_failure(cf.failure)}"
    if event.HasField("workflow_execution_completed_event_attributes"):
        return "-> " + summarize_payloads(event.workflow_execution_completed_event_attributes.result)
    if event.HasField("workflow_execution_failed_event_attributes"):
        return summarize_failure(event.workflow_execution_failed_event_attributes.failure)
    if event.HasField("workflow_execution_terminated_event_attributes"):
        return event.workflow_execution_terminated_event_attributes.reason
    if event.HasField("workflow_task_failed_event_attributes"):
        return summarize_failure(event.workflow_task_failed_event_attributes.failure)
    if event.HasField("marker_recorded_event_attributes"):
        m = event.marker_recorded_event_attributes
        detail = ", ".join(f"{k}={summarize_payloads(v, 40)}" for k, v in m.details.items())
        return f"{m.marker_name} {detail}".strip()
    if event.HasField("workflow_execution_continued_as_new_event_attributes"):
        n = event.workflow_execution_continued_as_new_event_attributes
        return f"new run {n.new_execution_run_id} ({summarize_payloads(n.input)})"
    return ""


def render_timeline(
    events: Iterable[HistoryEvent],
    *,
    workflow_tasks: bool = False,
    max_events: int | None = 200,
    mark: int | None = None,
) -> str:
    """Render events one per line; ``mark`` flags one event id with ``>>``."""
    events = list(events)
    if not events:
        return "  (no events)"
    names: dict[int, str] = {}
    for event in events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            names[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
    start = events[0].event_time.ToDatetime()
    shown = [
        e
        for e in events
        if workflow_tasks or e.event_type not in _WORKFLOW_TASK_NOISE or e.event_id == mark
    ]
    skipped = 0
    if max_events is not None and len(shown) > max_events:
        half = max_events // 2
        skipped = len(shown) - 2 * half
        shown = shown[:half] + shown[-half:]
    width = max(len(event_name(e)) for e in shown)
    lines = []
    for index, event in enumerate(shown):
        if skipped and index == len(shown) // 2:
            lines.append(f"     ... {skipped} events not shown ...")
        offset = format_offset(event.event_time.ToDatetime() - start)
        flag = ">>" if event.event_id == mark else "  "
        detail = describe_event(event, names)
        lines.append(
            f"{flag}{event.event_id:>4}  {offset:>10}  {event_name(event):<{width}}  {detail}".rstrip()
        )
    return "\n".join(lines)
