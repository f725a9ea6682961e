"""The one model of a workflow's event history: parsed once, queried, rendered as a timeline.

Everything that reads events (the harness's ``temporal.history()``, saga analysis, replay
reports and divergence checks, the settle wait, saved history files) builds on
:func:`parse_events` (one pass that pairs each activity and child workflow with its start and
close) and :class:`History`; every timeline is drawn by :func:`render_timeline`.
"""

from ._files import (
    RECORDED_NAME,
    HistoryFileError,
    check_events,
    find_history_files,
    history_dir_name,
    load_history_file,
    recorded_file_name,
    save_history_file,
)
from ._model import ActivityRecord, ChildRecord, History
from ._parse import (
    ACTIVITY,
    CHILD,
    Call,
    MarkerRecord,
    ParsedEvents,
    SignalRecord,
    TimerRecord,
    UpdateRecord,
    parse_events,
)
from ._text import event_name, format_offset, summarize_failure, summarize_payloads
from ._timeline import describe_event, render_timeline

__all__ = [
    "ACTIVITY",
    "CHILD",
    "RECORDED_NAME",
    "ActivityRecord",
    "Call",
    "ChildRecord",
    "History",
    "HistoryFileError",
    "MarkerRecord",
    "ParsedEvents",
    "SignalRecord",
    "TimerRecord",
    "UpdateRecord",
    "check_events",
    "describe_event",
    "event_name",
    "find_history_files",
    "format_offset",
    "history_dir_name",
    "load_history_file",
    "parse_events",
    "recorded_file_name",
    "render_timeline",
    "save_history_file",
    "summarize_failure",
    "summarize_payloads",
]
