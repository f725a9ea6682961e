"""Plain-text rendering for the ``trading-agents`` console: results, progress lines, history events.

Pure functions of their inputs (no I/O, no Temporal connection), so they are unit-tested directly.
Results are dataclasses of any pattern; the renderer walks them generically rather than knowing
each one, so a new field shows up without a change here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

MAX_ITEMS = 5
"""List items shown before "... and N more"."""

MAX_TEXT = 100
"""Characters of a string shown before it is cut with an ellipsis."""

MAX_DEPTH = 1
"""Nesting levels rendered as indented blocks; deeper records are left out of summaries."""


REPEATED_IDS = frozenset({"symbol", "strategy", "account_id", "exchange", "timeframe"})
"""Fields left out of a nested record when its parent shows the same value."""


def scalar(value: Any) -> str:
    """A short human form of a leaf value: numbers rounded, enums by value, long text cut."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, enum.Enum):
        return scalar(value.value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0 and abs(value) < 0.01:
            return f"{value:.4g}"
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _items(value: Any) -> list[tuple[str, Any]]:
    """(name, value) pairs of a dataclass or mapping, leaving out unset (None) fields."""
    if _is_record(value):
        pairs = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    else:
        pairs = [(str(k), v) for k, v in value.items()]
    return [(name, item) for name, item in pairs if item is not None]


def one_line(value: Any) -> str:
    """A compact single-line form: ``field=value, ...`` for records, commas for lists."""
    if _is_record(value) or isinstance(value, Mapping):
        # Nested records have no short form worth reading; the Web UI shows them.
        inner = ", ".join(
            f"{name}={_short(item)}" for name, item in _items(value) if not _is_record(item)
        )
        return inner or "(empty)"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return _list_line(value)
    return scalar(value)


def _short(value: Any) -> str:
    """A nested value inside a one-liner: scalars in full, containers summarised."""
    if _is_record(value):
        return type(value).__name__
    if isinstance(value, Mapping):
        return f"{{{len(value)} entries}}"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return f"[{len(value)}]"
    return scalar(value)


def _list_line(values: Sequence[Any]) -> str:
    if not values:
        return "(none)"
    shown = ", ".join(_short(v) for v in values[:MAX_ITEMS])
    extra = len(values) - MAX_ITEMS
    return shown + (f", ... and {extra} more" if extra > 0 else "")


def render(
    value: Any, *, indent: int = 0, depth: int = 0, inherited: Mapping[str, Any] | None = None
) -> list[str]:
    """Indented ``name: value`` lines for a dataclass (or mapping), recursively.

    Nested records become indented blocks up to ``MAX_DEPTH`` levels and are left out below
    that (the Web UI has the whole result); lists of records show one line per item (at most
    ``MAX_ITEMS``); other values are one-liners. Unset fields (None, "") are left out, and so
    is an identifying field that repeats its parent's (every report's ``symbol``).
    """
    pad = "  " * indent
    if not (_is_record(value) or isinstance(value, Mapping)):
        return [pad + one_line(value)]
    inherited = inherited or {}
    items = [
        (name, item)
        for name, item in _items(value)
        if item != "" and not (name in REPEATED_IDS and inherited.get(name) == item)
    ]
    scope = {**inherited, **dict(items)}
    lines: list[str] = []
    for name, item in items:
        label = name.replace("_", " ")
        if _is_record(item) or (isinstance(item, Mapping) and item and _nested(item)):
            if depth < MAX_DEPTH:
                lines.append(f"{pad}{label}:")
                lines.extend(render(item, indent=indent + 1, depth=depth + 1, inherited=scope))
        elif _is_list(item) and any(_is_record(v) for v in item):
            lines.append(f"{pad}{label}: {len(item)}")
            for element in item[:MAX_ITEMS]:
                lines.append(f"{pad}  - {one_line(element)}")
            if len(item) > MAX_ITEMS:
                lines.append(f"{pad}  - ... and {len(item) - MAX_ITEMS} more")
        elif _is_list(item) and all(isinstance(v, str) for v in item):
            lines.append(f"{pad}{label}: {scalar('; '.join(item)) if item else '(none)'}")
        else:
            lines.append(f"{pad}{label}: {one_line(item)}")
    return lines


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _nested(mapping: Mapping[Any, Any]) -> bool:
    """A mapping worth a block of its own: one whose values are records."""
    return any(_is_record(v) for v in mapping.values())


def result_summary(result: Any) -> str:
    """The result of a workflow as a titled, indented block."""
    title = type(result).__name__ if _is_record(result) else "Result"
    return "\n".join([f"{title}:", *render(result, indent=1)])


_PERCENT_FIELDS = ("percent_complete", "percent", "progress")
_STAGE_FIELDS = ("stage", "step", "status", "phase")
_MESSAGE_FIELDS = ("message", "detail", "description")


def _first(value: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        item = getattr(value, name, None)
        if item is not None and item != "":
            return item
    return None


def progress_line(query: str, value: Any) -> str:
    """One progress line from a progress query's answer.

    A record with the usual progress fields (a percentage, a stage, a message) reads as
    ``[ 50%] stage: message``; anything else is shown as a one-liner.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{query}: {scalar(value)}"
    if _is_record(value):
        percent = _first(value, _PERCENT_FIELDS)
        stage = _first(value, _STAGE_FIELDS)
        message = _first(value, _MESSAGE_FIELDS)
        if stage is not None or message is not None:
            parts = [f"[{percent:3.0f}%]"] if isinstance(percent, (int, float)) else []
            text = ": ".join(scalar(part) for part in (stage, message) if part is not None)
            return " ".join([*parts, text])
    if value is None:
        return f"{query}: -"
    return one_line(value)


def failure_summary(error: BaseException) -> str:
    """A workflow failure and its causes, one per line, without a traceback."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(lines) < 6:
        seen.add(id(current))
        kind = getattr(current, "type", None) or type(current).__name__
        # Temporal's failures keep the bare message apart from their str() (which adds the type).
        message = getattr(current, "message", None) or str(current) or "(no message)"
        lines.append(f"{'  ' * len(lines)}{kind}: {message}")
        current = current.__cause__
    return "\n".join(lines)


def ui_link(ui_url: str, namespace: str, workflow_id: str, run_id: str | None) -> str:
    """The Web UI page of one workflow run (its event history)."""
    base = ui_url.rstrip("/")
    run = quote(workflow_id, safe="") + (f"/{quote(run_id, safe='')}" if run_id else "")
    return f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{run}/history"


_ENDINGS = {
    "ACTIVITY_TASK_COMPLETED": "done",
    "ACTIVITY_TASK_FAILED": "failed",
    "ACTIVITY_TASK_TIMED_OUT": "timed out",
    "CHILD_WORKFLOW_EXECUTION_COMPLETED": "done",
    "CHILD_WORKFLOW_EXECUTION_FAILED": "failed",
}
"""How an activity or a child workflow ended, by event type (less its ``EVENT_TYPE_`` prefix)."""


class EventNarrator:
    """Turns a workflow's history events, in order, into progress lines.

    Used for patterns without a progress query. A line says what finished (an activity with
    the attempt that succeeded, a child workflow, a timer) or what arrived (a signal); the
    completions name their activity or child by remembering the event that scheduled it.
    Events of no interest to a reader (workflow tasks, markers) give ``None``.
    """

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._attempts: dict[int, int] = {}

    def describe(self, event: Any) -> str | None:
        """One line for ``event`` (a ``temporalio.api.history.v1.HistoryEvent``), or ``None``."""
        from temporalio.api.enums.v1 import EventType

        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        # Each event type has its own attributes message: the one set in the event's oneof.
        field = event.WhichOneof("attributes")
        attrs: Any = getattr(event, field) if field else None
        if kind == "ACTIVITY_TASK_SCHEDULED":
            self._names[event.event_id] = _with_summary(attrs.activity_type.name, event)
        elif kind == "ACTIVITY_TASK_STARTED":
            self._attempts[attrs.scheduled_event_id] = attrs.attempt
        elif kind == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            self._names[event.event_id] = attrs.workflow_type.name
            return f"child workflow {attrs.workflow_type.name} started"
        elif kind in _ENDINGS:
            if kind.startswith("ACTIVITY_"):
                what = self._activity(attrs.scheduled_event_id)
            else:
                what = f"child workflow {self._name(attrs.initiated_event_id)}"
            ending = _ENDINGS[kind]
            if ending == "failed":
                ending += f": {scalar(attrs.failure.message)}"
            return f"{what} {ending}"
        elif kind == "TIMER_STARTED":
            timeout = attrs.start_to_fire_timeout.ToTimedelta().total_seconds()
            return f"waiting {timeout:g}s (timer)"
        elif kind == "TIMER_FIRED":
            return "timer fired"
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            return f"signal {attrs.signal_name} received"
        elif kind == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW":
            return "continued as new"
        return None

    def _name(self, event_id: int) -> str:
        return self._names.get(event_id, f"#{event_id}")

    def _activity(self, scheduled_event_id: int) -> str:
        attempt = self._attempts.get(scheduled_event_id, 1)
        suffix = f" (attempt {attempt})" if attempt > 1 else ""
        return f"{self._name(scheduled_event_id)}{suffix}"


def _with_summary(name: str, event: Any) -> str:
    """``name (summary)`` when the workflow gave the step a summary (``summary=`` on the call).

    The summary tells apart the parallel calls of one activity ("market data from LSE").
    """
    payload = event.user_metadata.summary if event.HasField("user_metadata") else None
    if payload is None or not payload.data:
        return name
    try:
        summary = json.loads(payload.data)
    except ValueError:
        return name
    return f"{name} ({scalar(summary)})" if isinstance(summary, str) and summary else name
