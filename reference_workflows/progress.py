"""A progress bar for long work (several patterns run one after another), drawn by rich.

On a terminal the bar stays at the bottom while the runs' own lines scroll above it (rich
redirects standard output while the bar is live). Anywhere else (a pipe, a file, CI) there is
no bar at all: no control codes in a log, only the lines a run prints. rich is imported here,
on first use, so no other command pays for it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Steps(Protocol):
    """What the work tells the bar."""

    def begin(self, label: str) -> None:
        """A step starts; ``label`` says which."""

    def done(self) -> None:
        """The step that began last is finished."""


class _Silent:
    def begin(self, label: str) -> None:
        pass

    def done(self) -> None:
        pass


class _Bar:
    def __init__(self, progress: Any, task: Any, what: str) -> None:
        self._progress, self._task, self._what = progress, task, what

    def begin(self, label: str) -> None:
        self._progress.update(self._task, description=f"{self._what}: {label}")

    def done(self) -> None:
        self._progress.advance(self._task)


def shows_bars(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (and not a dumb one) that a bar may be drawn on."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def steps(total: int, what: str, stream: TextIO | None = None) -> Iterator[Steps]:
    """A bar of ``total`` steps named ``what`` on ``stream`` (standard output), while the block
    runs; a silent stand-in when the stream is not a terminal."""
    stream = sys.stdout if stream is None else stream
    if not shows_bars(stream):
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=stream)
    if console.is_dumb_terminal:
        yield _Silent()
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield _Bar(progress, progress.add_task(what, total=total), what)
