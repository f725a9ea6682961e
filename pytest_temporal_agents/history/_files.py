"""History files: read and check, write, find, and name them for recording.

Every history is checked before the SDK sees it: the SDK core panics (and the replay hangs)
on some malformed ones, such as a history whose first event is not WorkflowExecutionStarted.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import stat
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


#: Far above any real history's JSON (Temporal caps a history at about 50 MB of events):
#: a bigger file is not read into memory.
MAX_HISTORY_BYTES = 1 << 30


class HistoryFileError(TemporalAgentsError):
    """A history file cannot be replayed: unreadable, malformed, not a history, truncated.

    Attributes:
        path: the file, when the error is about one file (None for a bad search path).
        reason: why it cannot be replayed, one line, without the file's name.
        history: what could be parsed, if the file is JSON history that fails a check.
    """

    def __init__(
        self,
        message: str,
        history: History | None = None,
        *,
        path: Path | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.history = history
        self.path = path
        self.reason = reason if reason is not None else message.splitlines()[0] if message else ""


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
    if not first.workflow_execution_started_event_attributes.workflow_type.name:
        return "its WorkflowExecutionStarted event names no workflow type (workflowType.name)"
    for expected, event in enumerate(events, start=1):
        if event.event_id != expected:
            return (
                f"it is truncated or corrupt: event {expected} is missing "
                f"(found event {event.event_id} in its place)"
            )
        if event.event_type == EventType.EVENT_TYPE_UNSPECIFIED:
            return f"event {expected} has no event type, or one this Temporal SDK does not know"
        if event.WhichOneof("attributes") is None:
            return f"event {expected} ({event_name(event)}) has no attributes"
    return None


#: Byte order marks, longest first (UTF-32's little-endian mark begins with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(raw: bytes) -> str:
    """The file's text: UTF-8, or any Unicode encoding its byte order mark names (Windows
    PowerShell writes redirected output as UTF-16 with one).

    Raises:
        ValueError: the reason it is not text.
    """
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"it is not {encoding.upper()} text (byte 0x{raw[err.start]:02x} at offset {err.start}): "
            "a binary file, or text saved in another encoding? Save it as UTF-8 JSON"
        ) from None


def _parse_json(text: str) -> object:
    """The JSON value of ``text``.

    Raises:
        ValueError: the reason it is not JSON a history can be.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = "it is empty" if not text.strip() else f"line {err.lineno}, column {err.colno}: {err.msg}"
        raise ValueError(f"it is not valid JSON ({where}); a truncated download or a bad merge?") from None
    except RecursionError:
        raise ValueError(
            "it is JSON nested too deeply to read (a history nests a few levels only), "
            "not a Temporal history"
        ) from None


def load_history_file(path: str | os.PathLike[str]) -> History:
    """Read and check a history JSON file.

    Raises:
        HistoryFileError: unreadable, malformed JSON, not a history, or truncated; the
            message names the file and says which, and :attr:`HistoryFileError.reason`
            says why without the name.
    """
    path = Path(path)

    def bad(reason: str, message: str | None = None, history: History | None = None) -> HistoryFileError:
        return HistoryFileError(message or f"{path} cannot be replayed: {reason}.", history, path=path, reason=reason)

    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            raise bad(f"it is {kind}", f"Cannot read history file {str(path)!r}: it is {kind}.")
        size = status.st_size
        if size > MAX_HISTORY_BYTES:
            raise bad(
                f"it is {size / 2**20:,.0f} MiB, larger than any Temporal history "
                f"(the server caps one at about 50 MB); it is not a history"
            )
        raw = path.read_bytes()
    except OSError as err:
        reason = f"cannot read it: {err.strerror or err}"
        raise bad(reason, f"Cannot read history file {str(path)!r}: {err.strerror or err}.") from None
    try:
        data = _parse_json(_decode(raw))
    except ValueError as err:
        reason = str(err)
        raise bad(reason, f"{path} {reason.removeprefix('it ')}{'' if reason.endswith('?') else '.'}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        shape = type(data).__name__ if not isinstance(data, dict) else 'an object with no "events" list'
        problem = f'no "events" list (the file holds {shape})' if not isinstance(data, dict) else 'no "events" list'
        raise bad(f"it is not a Temporal history: {problem}", NOT_A_HISTORY.format(source=path, problem=problem))
    try:
        history = History.from_json(None, data, default_id=path.stem)
    except Exception as err:  # noqa: BLE001 - protobuf's parse errors have many types
        # protobuf wraps some errors (a lone surrogate: a SystemError) around the real one.
        cause = err.__cause__ if isinstance(err, SystemError) and err.__cause__ is not None else err
        first = next((line for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
        problem = first.rstrip(". ")
        raise bad(f"it is not a Temporal history: {problem}", NOT_A_HISTORY.format(source=path, problem=problem)) from None
    unreplayable = check_events(history)
    if unreplayable is not None:
        raise bad(unreplayable, history=history)
    return history


def save_history_file(history: History, path: str | Path) -> Path:
    """Write a history as JSON with its workflow id, run id and type (:meth:`History.save`)."""
    return history.save(path)


def find_history_files(paths: Iterable[str | Path]) -> list[Path]:
    """``*.json`` files: each path itself, or every one under it, sorted.

    A ``*.json`` symlink that leads nowhere (dangling, or a loop) is listed too, so that
    loading it reports it instead of it vanishing from the run.

    Raises:
        HistoryFileError: a path does not exist, or is neither a file nor a directory.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.is_file() or _broken_link(p)))
        elif path.is_file() or _broken_link(path):
            found.append(path)
        elif path.exists():
            raise HistoryFileError(
                f"History path {str(path)!r} is neither a file nor a directory; "
                "give history JSON files or directories that hold them.",
                path=path,
            )
        else:
            raise HistoryFileError(
                f"History path {str(path)!r} does not exist; "
                "give history JSON files or directories that hold them.",
                path=path,
            )
    return found


def _broken_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


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
