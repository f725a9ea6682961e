"""A workflow run as plain, JSON-able data for the report: read from the one history model.

Everything here reads :class:`~pytest_temporal_agents.history.History` (its parsed calls,
timers, signals, updates and markers), the attempts the harness adds to it, and the
trajectory reader of ``llm`` (which calls are model calls and which are tool calls). Nothing
parses events a second time. The result is made of dicts, lists, strings and numbers only:
under xdist it travels from the worker to the controller inside the test's report.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from .._context import INTERNAL_PREFIX
from ..history import ACTIVITY, Call, History, describe_event, summarize_failure, summarize_payloads
from ._axis import format_seconds
from ._data import TEXT_LIMIT, Data, clip

#: Rows (activities, children, timers) drawn per workflow; the rest are counted in a note.
MAX_ROWS = 150
#: Point marks (signals, updates, markers) drawn per workflow.
MAX_MARKS = 100

FAILED_STATES = frozenset({"failed", "timed_out", "start_failed", "terminated", "canceled"})
#: Outcomes of the harness's attempt records that are not failures.
ATTEMPT_OK = frozenset({"succeeded", "running"})


class AttemptLike(Protocol):
    """What the report reads of an attempt the harness recorded (``faults.AttemptRecord``)."""

    activity: str
    attempt: int
    outcome: str
    activity_id: str
    error: str | None
    fault: Any


class MockCallLike(Protocol):
    """What the report reads of a call to a mock (``mocks.MockCall``)."""

    kind: str
    workflow_id: str
    activity_id: str | None


def workflow_data(
    history: History,
    *,
    mock_calls: Sequence[MockCallLike] = (),
    verdict: Data | None = None,
    parent: str | None = None,
) -> Data:
    """One workflow run as the report draws it: identity, status, rows, marks and verdict.

    Args:
        history: the run's history; a harness history also knows every attempt.
        mock_calls: the test's calls to mocks, to label mocked activities and children.
        verdict: the replay verdict (``{"status": "ok" | "failed" | "off" | "none",
            "text": ...}``), if one is known.
        parent: the parent workflow's id, for a child workflow.
    """
    events = history.events
    origin = events[0].event_time.ToDatetime() if events else datetime.min
    end = events[-1].event_time.ToDatetime() if events else origin

    def at(moment: datetime | None) -> float:
        return max((moment or end) - origin, timedelta(0)).total_seconds()

    parsed = history.parsed
    roles = _roles(history)
    mocked_activities = {(c.workflow_id, c.activity_id) for c in mock_calls if c.kind == "activity"}
    mocked_children = {c.workflow_id for c in mock_calls if c.kind == "workflow"}
    attempts = _attempts_by_id(history)
    rows: list[Data] = []
    first_failure: Call | None = None
    for call in parsed.calls:
        if call.name.startswith(INTERNAL_PREFIX):
            continue
        row = _call_row(call, at, attempts.get(call.id, []))
        row["role"] = roles.get(call.id)
        if call.kind == ACTIVITY:
            row["mocked"] = (history.workflow_id, call.id) in mocked_activities
        else:
            row["mocked"] = call.id in mocked_children
        if first_failure is not None and call.scheduled_event_id > (
            first_failure.closed_event_id or 0
        ):
            row["compensation"] = f"scheduled after {first_failure.name} failed"
        if first_failure is None and call.status in FAILED_STATES and call.status != "canceled":
            first_failure = call
        rows.append(row)
    for timer in parsed.timers:
        started = parsed.event(timer.started_event_id)
        begin = at(started.event_time.ToDatetime()) if started is not None else 0.0
        length = timer.duration.total_seconds()
        stop = begin + length if timer.status == "fired" else min(begin + length, at(end))
        rows.append(
            {
                "kind": "timer",
                "name": f"timer {timer.timer_id}",
                "id": timer.timer_id,
                "start": begin,
                "end": stop,
                "status": timer.status,
                "detail": f"sleeps {format_seconds(length)}",
                "attempts": [],
            }
        )
    rows.extend(_local_activity_rows(history, roles))
    rows.sort(key=lambda r: (r["start"], r.get("event", 0)))
    marks = _marks(history, at)
    notes = []
    if len(rows) > MAX_ROWS:
        notes.append(f"{len(rows) - MAX_ROWS} more rows not drawn (the first {MAX_ROWS} are)")
        rows = rows[:MAX_ROWS]
    if len(marks) > MAX_MARKS:
        notes.append(f"{len(marks) - MAX_MARKS} more signals, updates and markers not drawn")
        marks = marks[:MAX_MARKS]
    return {
        "id": history.workflow_id,
        "run_id": history.run_id,
        "type": history.workflow_type,
        "status": history.status,
        "failure": clip(history.failure()) or None,
        "parent": parent,
        "mocked": False,
        "events": len(events),
        "started_at": origin.isoformat() if events else "",
        "duration": at(end),
        "rows": rows,
        "marks": marks,
        "notes": notes,
        "verdict": verdict or {"status": "none", "text": "not replayed"},
    }


def _call_row(call: Call, at: Any, recorded: list[AttemptLike]) -> Data:
    """An activity or child workflow: its span and one segment per attempt."""
    begin, stop = at(call.scheduled_time), at(call.closed_time)
    last_start = at(call.started.event_time.ToDatetime()) if call.started is not None else stop
    failure = summarize_failure(call.failure) if call.failure is not None else ""
    if call.status == "start_failed":
        failure = f"could not start: {call.start_failed_cause}"
    attempts = _attempts(call, recorded, failure) if call.kind == ACTIVITY else []
    # The server keeps the start of the last attempt only: earlier ones share the time
    # between scheduling and that start, in order.
    earlier = len(attempts) - 1
    for index, attempt in enumerate(attempts):
        if index < earlier:
            step = (last_start - begin) / earlier
            attempt["start"], attempt["end"] = begin + index * step, begin + (index + 1) * step
        else:
            attempt["start"], attempt["end"] = last_start if earlier else begin, stop
    return {
        "kind": "activity" if call.kind == ACTIVITY else "child",
        "name": call.name,
        "id": call.id,
        "event": call.scheduled_event_id,
        "start": begin,
        "end": stop,
        "status": call.status,
        "input": clip(summarize_payloads(call.input, TEXT_LIMIT)),
        "result": clip(summarize_payloads(call.result, TEXT_LIMIT))
        if call.result is not None
        else "",
        "failure": clip(failure),
        "attempts": attempts,
    }


def _attempts(call: Call, recorded: list[AttemptLike], failure: str) -> list[Data]:
    """Every attempt: the harness's record where it has one, else what the history says."""
    if recorded:
        return [
            {
                "n": r.attempt,
                "outcome": r.outcome,
                "error": clip(r.error) if r.outcome not in ATTEMPT_OK else "",
                "fault": clip(repr(r.fault), 120) if r.fault is not None else "",
            }
            for r in sorted(recorded, key=lambda r: r.attempt)
        ]
    last = max(call.attempt, 1)
    found: list[Data] = [
        {
            "n": n,
            "outcome": "failed",
            "error": "(the history keeps only the last attempt's failure)",
            "fault": "",
        }
        for n in range(1, last)
    ]
    outcome = {
        "completed": "succeeded",
        "scheduled": "running",
        "initiated": "running",
        "started": "running",
    }
    found.append(
        {
            "n": last,
            "outcome": outcome.get(call.status, call.status),
            "error": clip(failure),
            "fault": "",
        }
    )
    return found


def _attempts_by_id(history: History) -> dict[str, list[AttemptLike]]:
    """The attempts the harness recorded for this run, by activity id (none for a plain history)."""
    reader = getattr(history, "attempts", None)
    if reader is None:
        return {}
    found: dict[str, list[AttemptLike]] = {}
    for record in reader():
        found.setdefault(record.activity_id, []).append(record)
    return found


def _roles(history: History) -> dict[str, str]:
    """``model`` or ``tool`` by activity / child id, when the run made at least one model call."""
    from ..llm import trajectory_of

    try:
        steps = list(trajectory_of(history))
    except Exception:  # noqa: BLE001 - a step the reader cannot decode leaves the row unlabelled
        return {}
    if not any(step.is_model_call for step in steps):
        return {}
    return {step.id: step.kind for step in steps}


def _local_activity_rows(history: History, roles: dict[str, str]) -> list[Data]:
    """Local activities that made a model or tool call (the trajectory reads their markers)."""
    from ..llm import trajectory_of

    if not roles:
        return []
    rows = []
    for step in trajectory_of(history):
        if step.call != "local activity":
            continue
        begin = step.time.total_seconds()
        stop = begin + (step.duration.total_seconds() if step.duration is not None else 0.0)
        rows.append(
            {
                "kind": "local activity",
                "name": step.name,
                "id": step.id,
                "start": begin,
                "end": stop,
                "status": step.status,
                "role": step.kind,
                "failure": clip(step.failure),
                "attempts": [],
            }
        )
    return rows


def _marks(history: History, at: Any) -> list[Data]:
    """Signals, updates and markers: points on the workflow's time axis."""
    parsed = history.parsed
    marks: list[Data] = [
        {"kind": "signal", "name": s.name, "at": at(s.time), "detail": clip(s.input, 120)}
        for s in parsed.signals
    ]
    for update in parsed.updates:
        event = parsed.event(update.event_id)
        detail = update.status + (f": {update.failure}" if update.failure else "")
        moment = event.event_time.ToDatetime() if event is not None else None
        marks.append(
            {"kind": "update", "name": update.name, "at": at(moment), "detail": clip(detail, 160)}
        )
    for marker in parsed.markers:
        event = parsed.event(marker.event_id)
        if event is None:
            continue
        detail = describe_event(event)
        if INTERNAL_PREFIX in detail or marker.name == "core_local_activity":
            continue  # the harness's own stand-ins; local activities are rows of their own
        marks.append(
            {
                "kind": "marker",
                "name": marker.name,
                "at": at(event.event_time.ToDatetime()),
                "detail": clip(detail, 160),
            }
        )
    return sorted(marks, key=lambda m: m["at"])


def replay_verdict(
    workflow_id: str,
    workflow_type: str,
    *,
    checked: bool,
    replayable: Collection[str],
    problems: Sequence[str],
) -> Data:
    """What the teardown replay said about one workflow, read from the test's problems.

    The replay check reports a workflow that does not replay as a problem whose first line
    names it (``- workflow 'id' (Type) does not replay: ...``).
    """
    if not checked:
        return {"status": "off", "text": "replay check off for this test"}
    for problem in problems:
        first = problem.splitlines()[0] if problem else ""
        named = f"workflow {workflow_id!r}" in first
        if named and ("does not replay" in first or "not deterministic" in first):
            return {"status": "failed", "text": clip(first.removeprefix("- "), 400)}
    if workflow_type in replayable:
        return {"status": "ok", "text": "replays against the current code"}
    return {
        "status": "none",
        "text": "not replayed: no workflow class of this test registers its type",
    }
