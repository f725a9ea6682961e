"""History files: read and check, write, find, and name them for recording.

Every history is checked before the SDK sees it: the SDK core panics (and the replay hangs)
on some malformed ones, such as a history whose first event is not WorkflowExecutionStarted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from .._errors import TemporalAgentsError
from ._model import History
from ._text import event_name

NOT_A_HISTORY = """\
{source} is not a Temporal history: {problem}.
Expected the JSON that `temporal workflow show --output json`, the Web UI's download or
temporal.save_history() writes: an object with an "events" list."""


class HistoryFileError(TemporalAgentsError):
    """A history file cannot be replayed: unreadable, malformed, not a history, truncated.

    Attributes:
        history: what could be parsed, if the file is JSON history that fails a check.
    """

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history


def check_events(history: History) -> str | None:
    """Why the SDK core cannot replay these events (it panics or hangs on such), or None."""
    events = history.events
    if not events:
        return "it has no events"
    first = events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED or not first.HasField(
        "workflow_execution_started_event_attributes"
    ):
        return (
            f"it is truncated at the start: its first event is {event_name(first)} "
            f"(id {first.event_id}), not WorkflowExecutionStarted"
        )
    for expected, event in enumerate(events, start=1):
        if event.event_id != expected:
            return (
                f"it is truncated or corrupt: event {expected} is missing "
                f"(found event {event.event_id} in its place)"
            )
        if event.WhichOneof("attributes") is None:
            return f"event {expected} ({event_name(event)}) has no attributes"
    return None


def load_history_file(path: str | os.PathLike[str]) -> History:
    """Read and check a history JSON file.

    Raises:
        HistoryFileError: unreadable, malformed JSON, not a history, or truncated; the
            message says which, and where.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise HistoryFileError(f"Cannot read history file {str(path)!r}: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise HistoryFileError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "a truncated download or a bad merge?"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise HistoryFileError(NOT_A_HISTORY.format(source=path, problem='no "events" list'))
    try:
        history = History.from_json(None, data, default_id=path.stem)
    except Exception as err:  # noqa: BLE001 - protobuf's parse errors have many types
        raise HistoryFileError(NOT_A_HISTORY.format(source=path, problem=str(err).splitlines()[0])) from None
    problem = check_events(history)
    if problem is not None:
        raise HistoryFileError(f"{path} cannot be replayed: {problem}.", history)
    return history


def save_history_file(history: History, path: str | Path) -> Path:
    """Write a history as JSON with its workflow id, run id and type (:meth:`History.save`)."""
    return history.save(path)


def find_history_files(paths: Iterable[str | Path]) -> list[Path]:
    """``*.json`` files: each path itself, or every one under it, sorted.

    Raises:
        HistoryFileError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise HistoryFileError(f"History path {str(path)!r} does not exist.")
    return found


# -- names for recorded histories ------------------------------------------------------------------


def history_dir_name(nodeid: str, limit: int = 120) -> str:
    """A directory name for one test's histories, stable across runs: its node id, slugged."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", nodeid.replace("::", "--")).strip("-.") or "test"
    if len(slug) > limit:
        slug = slug[: limit - 9].rstrip("-.") + "-" + hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    return slug


RECORDED_NAME = re.compile(r"^[A-Za-z0-9._-]+-\d+\.json$")


def recorded_file_name(workflow_type: str, sequence: int) -> str:
    """``<WorkflowType>-<n>.json``: the n-th workflow of that type the test ran."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', workflow_type)}-{sequence}.json"
