"""The ``fake_llm`` and ``llm_cassette`` markers' arguments and the ``--llm-record`` option
(read without pytest; the plugin passes them in)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ._errors import FakeLLMError

#: As registered with pytest (``--strict-markers``) and documented.
MARKER_SIGNATURE = "fake_llm(*, allow_unused=False)"


@dataclass(frozen=True, kw_only=True)
class FakeLLMMarker:
    """Arguments of ``@pytest.mark.fake_llm(...)``; all keyword-only.

    Attributes:
        allow_unused: scripted replies no request took do not fail the test.
    """

    allow_unused: bool = False


def read_markers(markers: Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]]) -> FakeLLMMarker:
    """Merge ``(args, kwargs)`` of the markers, given closest first: the closest wins.

    Raises:
        FakeLLMError: positional arguments, an unknown keyword, or a value of the wrong type.
    """
    valid = ", ".join(f.name for f in fields(FakeLLMMarker))
    merged: dict[str, Any] = {}
    for args, kwargs in reversed(list(markers)):
        unknown = sorted(set(kwargs) - {f.name for f in fields(FakeLLMMarker)})
        if args or unknown:
            given = f"{args!r}" if args else f"({unknown[0]}=...)"
            raise FakeLLMError(
                f"@pytest.mark.fake_llm{given} is invalid: it takes only keyword arguments "
                f"among: {valid}."
            )
        merged.update(kwargs)
    marker = FakeLLMMarker(**merged)
    if not isinstance(marker.allow_unused, bool):
        raise FakeLLMError(
            f"@pytest.mark.fake_llm(allow_unused={marker.allow_unused!r}) must be True or False."
        )
    return marker


# -- cassettes -------------------------------------------------------------------------------------

#: As registered with pytest (``--strict-markers``) and documented; read by ``_budget``.
BUDGET_SIGNATURE = "llm_budget(*, tokens=None, requests=None, cost=None, prices=None)"

#: The record modes, in order of how much they record (``--llm-record``, ``llm_record``,
#: ``llm_cassette(record=...)``).
RECORD_MODES = ("none", "new", "all")

#: As registered with pytest and documented.
CASSETTE_SIGNATURE = "llm_cassette(path=None, *, record=None)"
#: The command-line option and ini setting of the record mode (``--llm-record``).
RECORD_OPTION = "llm_record"
RECORD_FLAG = "--llm-record"
RECORD_HELP = (
    "Cassettes (@pytest.mark.llm_cassette): 'none' replays only (default, for CI), 'new' "
    "records through the real provider what a cassette lacks, 'all' re-records everything."
)
#: Where a cassette goes unless the marker names a path: beside the test module.
CASSETTE_DIRECTORY = "cassettes"
CASSETTE_SUFFIX = ".yaml"

BAD_CASSETTE_MARKER = """\
@pytest.mark.llm_cassette{given} is invalid: {problem}.
It takes an optional path (a name, or a path relative to the test's file) and record=
one of 'none', 'new', 'all'; for example @pytest.mark.llm_cassette("quote", record="new")."""


@dataclass(frozen=True)
class CassetteMarker:
    """Arguments of ``@pytest.mark.llm_cassette(path=None, *, record=None)``.

    Attributes:
        path: a name (``cassettes/<module>/<name>.yaml`` beside the test) or a path
            relative to the test's file; None for the test's own name.
        record: the record mode for this test, unless ``--llm-record`` says otherwise.
    """

    path: str | None = None
    record: str | None = None


def read_cassette_marker(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> CassetteMarker:
    """The closest ``llm_cassette`` marker's arguments.

    Raises:
        FakeLLMError: more than one positional argument, an unknown keyword, a path that is
            not a text, or a record mode that is not one.
    """
    merged = dict(zip(("path",), args)) if len(args) <= 1 else {}
    unknown = sorted(set(kwargs) - {"path", "record"})
    problem = None
    if len(args) > 1:
        problem = "it takes one path at most"
    elif unknown:
        problem = f"unknown argument {unknown[0]!r}"
    merged.update(kwargs)
    path, record = merged.get("path"), merged.get("record")
    if problem is None and path is not None and not isinstance(path, (str, os.PathLike)):
        problem = f"path must be a text or a pathlib.Path, not {path!r}"
    if problem is None and path is not None and not str(os.fspath(path)).strip(" ."):
        problem = f"path {path!r} names no file; give a cassette name such as 'checkout'"
    if problem is None and record is not None and record not in RECORD_MODES:
        problem = f"record={record!r} is not a record mode"
    if problem is not None:
        given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        raise FakeLLMError(BAD_CASSETTE_MARKER.format(given=f"({given})", problem=problem))
    return CassetteMarker(None if path is None else os.fspath(path), record)


def resolve_record_mode(option: Any, marker: str | None, ini: Any) -> str:
    """The record mode of one test: the command line, then the marker, then the ini
    setting, then ``none``; so ``--llm-record=none`` in CI never records, whatever a
    marker says.

    Raises:
        FakeLLMError: the option or ini value is not a mode (listing the valid ones).
    """
    for source, value in ((RECORD_FLAG, option), ("marker", marker), (RECORD_OPTION, ini)):
        if value in (None, ""):
            continue
        if value not in RECORD_MODES:
            raise FakeLLMError(
                f"{source}={value!r} is not a record mode. Valid modes: {', '.join(RECORD_MODES)}."
            )
        return str(value)
    return "none"


def cassette_path(marker: CassetteMarker, test_file: Path, test_name: str) -> Path:
    """The cassette file of a test.

    A marker without a path: ``<test dir>/cassettes/<module>/<test name>.yaml``; a bare
    name: the same directory, that name; a path with a directory: relative to the test's
    directory. A name without a suffix gets ``.yaml``.
    """
    directory = test_file.parent
    if marker.path is None:
        name = re.sub(r"[^\w.=-]+", "_", test_name.replace("::", ".")).strip("_")
        return directory / CASSETTE_DIRECTORY / test_file.stem / f"{name}{CASSETTE_SUFFIX}"
    given = Path(marker.path)
    if not given.suffix:
        given = given.with_suffix(CASSETTE_SUFFIX)
    if len(given.parts) == 1:
        return directory / CASSETTE_DIRECTORY / test_file.stem / given
    return directory / given
