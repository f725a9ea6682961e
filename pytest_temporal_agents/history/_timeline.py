"""The one timeline renderer: a workflow's events, one line each.

``History.timeline()``, the harness's reports and the nondeterminism report (a window around
the event where a replay stopped) all render through :func:`render_timeline`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from ._parse import parse_events
from ._text import event_name, format_offset, summarize_failure, summarize_payloads

#: Workflow-task bookkeeping events: hidden from timelines unless asked for.
_WORKFLOW_TASK_NOISE = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
)


def describe_event(event: HistoryEvent, names: dict[int, str] | None = None) -> str:
    """The details column of a timeline line: what happened, to what, with what.

    Args:
        names: activity names by the id of their ActivityTaskScheduled event, to name the
            activity of a start or close event (``?`` if missing).
    """
    field = event.WhichOneof("attributes")
    if field is None or field not in _DESCRIBE:
        return ""
    return _DESCRIBE[field](getattr(event, field), names or {})


def _activity(attrs: Any, names: dict[int, str]) -> str:
    return names.get(attrs.scheduled_event_id, "?")


def _activity_failure(attrs: Any, names: dict[int, str]) -> str:
    return f"{_activity(attrs, names)}: {summarize_failure(attrs.failure)}"


def _timer(attrs: Any, names: dict[int, str]) -> str:
    return f"timer {attrs.timer_id}"


def _timer_started(attrs: Any, names: dict[int, str]) -> str:
    return f"{_timer(attrs, names)} for {format_offset(attrs.start_to_fire_timeout.ToTimedelta()).lstrip('+')}"


def _marker(attrs: Any, names: dict[int, str]) -> str:
    detail = ", ".join(f"{k}={summarize_payloads(v, 40)}" for k, v in attrs.details.items())
    return f"{attrs.marker_name} {detail}".strip()


def _failure(attrs: Any, names: dict[int, str]) -> str:
    return summarize_failure(attrs.failure)


#: The details of each kind of event, by its attributes field; other events have none.
_DESCRIBE: dict[str, Callable[[Any, dict[int, str]], str]] = {
    "workflow_execution_started_event_attributes": lambda a, _: (
        f"{a.workflow_type.name}({summarize_payloads(a.input)}) on {a.task_queue.name}"
    ),
    "activity_task_scheduled_event_attributes": lambda a, _: (
        f"{a.activity_type.name}({summarize_payloads(a.input)}) id={a.activity_id}"
    ),
    "activity_task_started_event_attributes": lambda a, n: f"{_activity(a, n)} attempt {a.attempt}",
    "activity_task_completed_event_attributes": lambda a, n: f"{_activity(a, n)} -> {summarize_payloads(a.result)}",
    "activity_task_failed_event_attributes": _activity_failure,
    "activity_task_timed_out_event_attributes": _activity_failure,
    "timer_started_event_attributes": _timer_started,
    "timer_fired_event_attributes": _timer,
    "timer_canceled_event_attributes": _timer,
    "workflow_execution_signaled_event_attributes": lambda a, _: f"{a.signal_name}({summarize_payloads(a.input)})",
    "start_child_workflow_execution_initiated_event_attributes": lambda a, _: f"{a.workflow_type.name} id={a.workflow_id}",
    "child_workflow_execution_completed_event_attributes": lambda a, _: (
        f"{a.workflow_type.name} -> {summarize_payloads(a.result)}"
    ),
    "child_workflow_execution_failed_event_attributes": lambda a, _: f"{a.workflow_type.name}: {summarize_failure(a.failure)}",
    "workflow_execution_completed_event_attributes": lambda a, _: "-> " + summarize_payloads(a.result),
    "workflow_execution_failed_event_attributes": _failure,
    "workflow_execution_terminated_event_attributes": lambda a, _: str(a.reason),
    "workflow_task_failed_event_attributes": _failure,
    "marker_recorded_event_attributes": _marker,
    "workflow_execution_continued_as_new_event_attributes": lambda a, _: (
        f"new run {a.new_execution_run_id} ({summarize_payloads(a.input)})"
    ),
}


def render_timeline(
    events: Iterable[HistoryEvent],
    *,
    workflow_tasks: bool = False,
    max_events: int | None = 200,
    mark: int | None = None,
    around: tuple[int, int] | None = None,
    names: dict[int, str] | None = None,
) -> str:
    """Render events one per line: ``>>`` flag, id, workflow-time offset, event, details.

    Args:
        workflow_tasks: include workflow-task scheduled/started/completed bookkeeping (the
            marked event is shown either way).
        max_events: show at most this many events (first and last halves), or all if None.
        mark: flag the event with this id with ``>>``.
        around: ``(before, after)``: show only the first event and a window of that many
            events before and after the marked one (the last events without a mark);
            ``max_events`` is then not used.
        names: activity names by scheduled event id, if the caller has parsed the events.
    """
    events = list(events)
    shown = [
        e
        for e in events
        if workflow_tasks or e.event_type not in _WORKFLOW_TASK_NOISE or e.event_id == mark
    ]
    if not shown:
        return "  (no events)"
    if around is not None:
        rows = _window(shown, mark, *around)
    else:
        rows = _head_and_tail(shown, max_events)
    if names is None:
        names = parse_events(events).activity_names()
    start = events[0].event_time.ToDatetime()
    width = max(len(event_name(row)) for row in rows if isinstance(row, HistoryEvent))
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        offset = format_offset(row.event_time.ToDatetime() - start)
        flag = ">>" if row.event_id == mark else "  "
        detail = describe_event(row, names)
        lines.append(f"{flag}{row.event_id:>4}  {offset:>10}  {event_name(row):<{width}}  {detail}".rstrip())
    return "\n".join(lines)


def _head_and_tail(shown: list[HistoryEvent], max_events: int | None) -> list[HistoryEvent | str]:
    """All events, or the first and last ``max_events // 2`` with a line for the gap."""
    if max_events is None or len(shown) <= max_events:
        return list(shown)
    half = max_events // 2
    kept: list[HistoryEvent | str] = [*shown[:half], *shown[-half:]]
    kept.insert(len(kept) // 2, f"     ... {len(shown) - 2 * half} events not shown ...")
    return kept


def _window(shown: Sequence[HistoryEvent], mark: int | None, before: int, after: int) -> list[HistoryEvent | str]:
    """The first event, then ``before`` events, the marked one and ``after`` events."""
    index = next((i for i, e in enumerate(shown) if e.event_id == mark), len(shown) - 1)
    low, high = max(1, index - before), min(len(shown), index + after + 1)
    rows: list[HistoryEvent | str] = [shown[0]]
    if low > 1:
        rows.append("     ...")
    rows.extend(shown[low:high])
    if high < len(shown):
        rows.append(f"     ... {len(shown) - high} more")
    return rows
