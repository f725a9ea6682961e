"""Bad history files: each one is a HistoryFileError naming the file and the reason, never a crash.

The table holds the inputs users send us (truncated downloads, PowerShell's UTF-16, a JSON
bomb, a list, a history without its workflow type...), with the exact reason each gets.
The properties feed the loader generated JSON, mutated histories and raw bytes, and check
that it either returns a replayable history or raises HistoryFileError that names the file.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_support import HISTORIES

from pytest_temporal_agents.history import (
    HistoryFileError,
    check_events,
    find_history_files,
    load_history_file,
)

GOOD = next(HISTORIES.glob("**/*test_one_symbol/Pricer-1.json"))
GOOD_DATA: dict[str, Any] = json.loads(GOOD.read_text(encoding="utf-8"))
NOT_A_HISTORY = "it is not a Temporal history: "


def _mutated(change: Callable[[dict[str, Any]], object]) -> bytes:
    data = copy.deepcopy(GOOD_DATA)
    change(data)
    return json.dumps(data).encode()


def _set(event: int, key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda data: data["events"][event].__setitem__(key, value)


def _drop_workflow_type(data: dict[str, Any]) -> None:
    del data["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "it is not valid JSON (it is empty); a truncated download or a bad merge?"),
    ("blank", b"  \n\t ", "it is not valid JSON (it is empty); a truncated download or a bad merge?"),
    (
        "truncated",
        json.dumps(GOOD_DATA).encode()[:100],
        ("it is not valid JSON (line 1, column 101: Expecting value); "
        "a truncated download or a bad merge?"),
    ),
    (
        "nested-100000",
        b"[" * 100_000 + b"]" * 100_000,
        "it is JSON nested too deeply to read (a history nests a few levels only), not a Temporal history",
    ),
    (
        "nested-events",
        b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "it is JSON nested too deeply to read (a history nests a few levels only), not a Temporal history",
    ),
    (
        "binary",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        ("it is not UTF-8 text (byte 0x89 at offset 0): a binary file, or text saved in another "
        "encoding? Save it as UTF-8 JSON"),
    ),
    (
        "utf-16-without-bom",
        '{"events": []}'.encode("utf-16-le"),  # reads as UTF-8 with NULs: not JSON
        ("it is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes); "
        "a truncated download or a bad merge?"),
    ),
    ("list", b"[1, 2]", NOT_A_HISTORY + 'no "events" list (the file holds list)'),
    ("number", b"42", NOT_A_HISTORY + 'no "events" list (the file holds int)'),
    ("string", b'"events"', NOT_A_HISTORY + 'no "events" list (the file holds str)'),
    ("no-events", b'{"workflowId": "x"}', NOT_A_HISTORY + 'no "events" list'),
    ("events-a-string", b'{"events": "abc"}', NOT_A_HISTORY + 'no "events" list'),
    ("events-of-numbers", b'{"events": [1, 2]}', NOT_A_HISTORY + "Event not a dictionary"),
    ("events-of-null", b'{"events": [null]}', NOT_A_HISTORY + "Event not a dictionary"),
    ("no-events-at-all", b'{"events": []}', "it has no events"),
    (
        "lone-surrogate",
        b'{"events": [{"eventId": "1", "eventType": "\\ud800"}]}',
        NOT_A_HISTORY + "'utf-8' codec can't encode character '\\ud800' in position 10: surrogates not allowed",
    ),
    (
        "huge-event-id",
        _mutated(_set(0, "eventId", "99999999999999999999999")),
        NOT_A_HISTORY
        + "Failed to parse events field: Failed to parse eventId field: Value out of range: "
        "99999999999999999999999",
    ),
    (
        "fractional-event-id",
        _mutated(_set(0, "eventId", 1.5)),
        NOT_A_HISTORY
        + "Failed to parse events field: Failed to parse eventId field: Couldn't parse integer: 1.5 "
        "at History.events[0].eventId",
    ),
    (
        "negative-event-id",
        _mutated(_set(0, "eventId", "-5")),
        "it is truncated or corrupt: event 1 is missing (found event -5 in its place)",
    ),
    (
        "missing-event",
        _mutated(lambda data: data["events"].pop(3)),
        "it is truncated or corrupt: event 4 is missing (found event 5 in its place)",
    ),
    (
        "cut-at-the-start",
        _mutated(lambda data: data.__setitem__("events", data["events"][2:])),
        ("it is truncated at the start: its first event is WorkflowTaskStarted (id 3), "
        "not WorkflowExecutionStarted"),
    ),
    (
        "unknown-event-type",
        _mutated(_set(3, "eventType", "EVENT_TYPE_FROM_THE_FUTURE")),
        "event 4 has no event type, or one this Temporal SDK does not know",
    ),
    (
        "no-workflow-type",
        _mutated(_drop_workflow_type),
        "its WorkflowExecutionStarted event names no workflow type (workflowType.name)",
    ),
    (
        "bad-timestamp",
        _mutated(_set(0, "eventTime", "yesterday")),
        NOT_A_HISTORY
        + "Failed to parse events field: Failed to parse eventTime field: Failed to parse timestamp: "
        "missing valid timezone offset. at History.events[0].eventTime",
    ),
]

@pytest.mark.parametrize(("content", "reason"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_is_an_error_naming_it_and_the_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    with pytest.raises(HistoryFileError) as raised:
        load_history_file(path)
    assert raised.value.reason == reason
    assert raised.value.path == path
    assert str(path) in str(raised.value)
    assert "Traceback" not in str(raised.value)


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"], ids=["utf-8-bom", "utf-16", "utf-16-be", "utf-32"]
)
def test_a_history_with_a_byte_order_mark_loads(tmp_path: Path, encoding: str) -> None:
    """Windows PowerShell's `>` writes UTF-16 with a byte order mark."""
    path = tmp_path / "history.json"
    text = json.dumps(GOOD_DATA)
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + raw
    path.write_bytes(raw)
    history = load_history_file(path)
    assert (history.workflow_type, len(history.events)) == ("Pricer", len(GOOD_DATA["events"]))


def test_files_that_cannot_be_read_are_errors_naming_them(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "loop-a.json").symlink_to(tmp_path / "loop-b.json")
    (tmp_path / "loop-b.json").symlink_to(tmp_path / "loop-a.json")
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(tmp_path / "fifo.json")
    expected = {
        "dir.json": "it is a directory",
        "loop-a.json": "cannot read it: Too many levels of symbolic links",
        "dangling.json": "cannot read it: No such file or directory",
        "fifo.json": "it is not a regular file",
    }
    for name, reason in expected.items():
        with pytest.raises(HistoryFileError) as raised:
            load_history_file(tmp_path / name)
        assert raised.value.reason == reason, name
        assert f"Cannot read history file {str(tmp_path / name)!r}: " in str(raised.value)


def test_a_file_far_larger_than_any_history_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(2 << 30)  # sparse: no disk used, and never read
    with pytest.raises(HistoryFileError) as raised:
        load_history_file(path)
    assert raised.value.reason == (
        "it is 2,048 MiB, larger than any Temporal history (the server caps one at about 50 MB); it is not a history"
    )


def test_a_directory_lists_broken_links_so_they_are_reported(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_bytes(GOOD.read_bytes())
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "notes.txt").write_text("not a history")
    assert [p.name for p in find_history_files([tmp_path])] == ["dangling.json", "good.json"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nope", "does not exist; give history JSON files or directories that hold them."),
        (lambda tmp: Path(os.devnull), "is neither a file nor a directory; give history JSON files or directories"),
    ],
    ids=["missing", "device"],
)
def test_a_search_path_that_is_no_file_or_directory_is_named(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(HistoryFileError, match=f"^History path {str(path)!r} ") as raised:
        find_history_files([tmp_path, path])
    assert message in str(raised.value)


# -- properties ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_histories(draw: st.DrawFn) -> bytes:
    """The good history with a few of its parts replaced, removed, reordered, or cut."""
    data = copy.deepcopy(GOOD_DATA)
    events: list[dict[str, Any]] = data["events"]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "delete", "swap", "top", "cut", "nest"]))
        if not events:
            break
        index = draw(st.integers(0, len(events) - 1))
        event = events[index]
        if not isinstance(event, dict):
            continue
        if kind == "replace" and event:
            key = draw(st.sampled_from(sorted(event)))
            event[key] = draw(json_values)
        elif kind == "delete" and event:
            del event[draw(st.sampled_from(sorted(event)))]
        elif kind == "swap":
            other = draw(st.integers(0, len(events) - 1))
            events[index], events[other] = events[other], events[index]
        elif kind == "top":
            data[draw(st.sampled_from(["events", "workflowId", "runId", "workflowType"]))] = draw(json_values)
            events = data["events"] if isinstance(data.get("events"), list) else []
        elif kind == "cut":
            del events[index:]
        else:
            depth = draw(st.sampled_from([10, 500, 5000, 50_000]))
            event["deep"] = None
            text = json.dumps(data)
            return text.replace('"deep": null', '"deep": ' + "[" * depth + "]" * depth, 1).encode()
    text = json.dumps(data).encode()
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


def _check_loads_or_names_the_file(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzzed.json"
        path.write_bytes(content)
        try:
            history = load_history_file(path)
        except HistoryFileError as err:
            assert str(path) in str(err)
            assert err.path == path and err.reason and "\n" not in err.reason
        else:
            assert check_events(history) is None


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_histories())
def test_a_mutated_history_loads_or_is_an_error_naming_the_file(content: bytes) -> None:
    _check_loads_or_names_the_file(content)


@FUZZ
@given(json_values.map(lambda value: json.dumps(value).encode()))
def test_any_json_loads_or_is_an_error_naming_the_file(content: bytes) -> None:
    _check_loads_or_names_the_file(content)


@FUZZ
@given(st.binary(max_size=64) | st.text(max_size=32).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_any_bytes_load_or_are_an_error_naming_the_file(content: bytes) -> None:
    _check_loads_or_names_the_file(content)
