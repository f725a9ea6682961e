"""The one model of a workflow's event history: parsed once, queried, rendered as a timeline.

Everything that reads events (the harness's ``temporal.history()``, fault attempts, saga
analysis, replay reports, saved history files) builds on :class:`History` and the
functions here, so there is one parser and one timeline renderer.
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
from ._model import (
    ActivityRecord,
    ChildRecord,
    History,
    SignalRecord,
    TimerRecord,
    describe_event,
    event_name,
    format_offset,
    render_timeline,
    summarize_failure,
    summarize_payloads,
)

__all__ = [
    "RECORDED_NAME",
    "ActivityRecord",
    "ChildRecord",
    "History",
    "HistoryFileError",
    "SignalRecord",
    "TimerRecord",
    "check_events",
    "describe_event",
    "event_name",
    "find_history_files",
    "format_offset",
    "history_dir_name",
    "load_history_file",
    "recorded_file_name",
    "render_timeline",
    "save_history_file",
    "summarize_failure",
    "summarize_payloads",
]
