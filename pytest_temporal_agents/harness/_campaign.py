"""A progress line for a property-test campaign: a ``@given`` test that opens ``temporal.isolated()``
per example runs tens to hundreds of real workflows, and pytest shows nothing until it ends.

While such a test runs on a terminal, the line pytest is writing (``tests/test_x.py `` or,
with ``-v``, the test's id) is followed by ``examples 3/10 ━━━━━━━━━━━ failed 0 0:00:04``,
redrawn as each example starts and ends and erased before pytest writes the outcome.

Where the numbers come from, and what they can honestly say:

- An example is a hypothesis example that opened at least one isolated scope; two scopes in
  one example count once (told apart by hypothesis's build context, one per example).
  The count is of examples begun, so the Nth shows while it runs.
- The planned number is the test's ``max_examples``. Hypothesis may stop sooner (a small
  search space) and runs more than that when it shrinks a failure: past the planned number,
  with a failure seen, the line reads ``examples 10/10, shrinking: 7``; without one (examples
  rejected by ``assume``, explicit ``@example``\\ s), ``examples 12 (max 10)``.
- A failure is an example whose isolated scope raised (not hypothesis's own ``assume``).

How it is drawn: the rich ``Progress`` renders the columns (description, bar, failures,
elapsed time) into a string; the plugin writes it with pytest's terminal writer's
``write_raw`` while pytest's capture is suspended (``global_and_fixture_disabled``, as live
logging does), after the column pytest left its cursor at. rich's ``Live`` is not used: it
erases whole lines, the one holding the test's name included, and it redirects
``sys.stdout`` under pytest's capture. ``write_raw`` leaves the writer's count of the current
line alone, so pytest's ``[ 50%]`` column stays right; nothing runs in the background, so
nothing is written while capture is active.

This module never imports pytest, rich or hypothesis at load: the plugin must load for
free (``tests/harness/test_lazy_loading.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: Fewer columns than this after pytest's text: no line (it would be cropped to nothing).
MIN_WIDTH = 30
#: A start is drawn at most this often (seconds); every end is drawn.
MIN_INTERVAL = 0.05
#: Terminals rich (and pytest) treat as unable to move the cursor.
DUMB_TERMINALS = ("dumb", "unknown")
#: Erase from the cursor to the end of the line.
ERASE = "\x1b[K"


class ExampleListener(Protocol):
    """What ``temporal.isolated()`` tells about the scopes it opens."""

    def example_started(self) -> None:
        """An isolated scope is about to open."""

    def example_ended(self, *, failed: bool) -> None:
        """The scope closed; ``failed``: it raised (its body or its teardown checks)."""


@asynccontextmanager
async def observed(
    scope: AbstractAsyncContextManager[T], listener: ExampleListener | None
) -> AsyncIterator[T]:
    """``scope`` as is, telling ``listener`` (if any) when it opens and how it closes."""
    if listener is None:
        async with scope as entered:
            yield entered
        return
    listener.example_started()
    failed = False
    try:
        async with scope as entered:
            yield entered
    except BaseException as err:
        failed = is_failure(err)
        raise
    finally:
        listener.example_ended(failed=failed)


def is_failure(err: BaseException) -> bool:
    """Whether an exception out of a scope fails its example: hypothesis's control flow
    (``assume``: ``UnsatisfiedAssumption``; ``StopTest``, a ``BaseException``) does not."""
    if not isinstance(err, Exception):
        return False
    errors = sys.modules.get("hypothesis.errors")
    rejected = getattr(errors, "UnsatisfiedAssumption", None)
    return not (isinstance(rejected, type) and isinstance(err, rejected))


def _example_key() -> object:
    """The running hypothesis example (its build context), or a new object outside one."""
    control = sys.modules.get("hypothesis.control")
    try:
        return control.current_build_context() if control is not None else object()
    except Exception:  # noqa: BLE001 - no example running: every scope is one
        return object()


class Campaign:
    """The counts of one test's examples and the words for them (no terminal here)."""

    def __init__(self, max_examples: int | None, example_key: Callable[[], object] = _example_key) -> None:
        self.max_examples = max_examples
        self.examples = 0
        self.failures = 0
        self._example_key = example_key
        self._key: object = None
        self._failed_this_example = False
        self._failure_at: int | None = None  # the example count when the first one failed

    def started(self) -> None:
        key = self._example_key()
        if key is self._key:
            return  # another scope of the running example
        self._key = key
        self.examples += 1
        self._failed_this_example = False

    def ended(self, *, failed: bool) -> None:
        if failed and not self._failed_this_example:
            self._failed_this_example = True
            self.failures += 1
            if self._failure_at is None:
                self._failure_at = self.examples

    def description(self) -> str:
        """``examples 3/10``; past the plan ``examples 10/10, shrinking: 4`` after a failure,
        ``examples 12 (max 10)`` without one; ``examples 3`` when the plan is unknown."""
        planned = self.max_examples
        if planned is None:
            return f"examples {self.examples}"
        if self.examples <= planned:
            return f"examples {self.examples}/{planned}"
        if self.failures:
            return f"examples {planned}/{planned}, shrinking: {self.examples - planned}"
        return f"examples {self.examples} (max {planned})"

    def completed(self) -> int:
        """How much of the bar is full: the examples of the plan begun so far."""
        return self.examples if self.max_examples is None else min(self.examples, self.max_examples)


class _Renderer:
    """rich's progress columns for one campaign, rendered to a string on demand."""

    def __init__(self, total: int | None, *, color: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self._console = Console(force_terminal=True, no_color=not color, highlight=False)
        self._progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[failed]}", table_column=Column(no_wrap=True)),
            TimeElapsedColumn(),
            console=self._console,
            auto_refresh=False,  # never started: nothing refreshes behind pytest's capture
        )
        self._task = self._progress.add_task("examples", total=total, failed="")

    def render(self, campaign: Campaign, width: int) -> str:
        failed = f"[red]failed {campaign.failures}[/]" if campaign.failures else "failed 0"
        self._progress.update(
            self._task, description=campaign.description(), completed=campaign.completed(), failed=failed
        )
        self._console.width = width
        with self._console.capture() as captured:
            self._console.print(self._progress.get_renderable(), end="", crop=True)
        return captured.get().split("\n", 1)[0]


class CampaignProgress:
    """The progress line of one ``@given`` test on pytest's terminal.

    ``writer`` is pytest's terminal writer (``width_of_current_line``, ``fullwidth``,
    ``write_raw``, ``flush``); ``suspended`` a context manager that lifts pytest's capture.
    """

    def __init__(
        self,
        campaign: Campaign,
        writer: Any,
        suspended: Callable[[], contextlib.AbstractContextManager[Any]],
        *,
        color: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.campaign = campaign
        self._writer = writer
        self._suspended = suspended
        self._color = color
        self._clock = clock
        self._renderer: _Renderer | None = None
        self._drawn_at: float | None = None
        self._column: int | None = None  # where pytest left the cursor when the line was drawn
        self._broken = False

    def example_started(self) -> None:
        self.campaign.started()
        if self._drawn_at is None or self._clock() - self._drawn_at >= MIN_INTERVAL:
            self._draw()

    def example_ended(self, *, failed: bool) -> None:
        self.campaign.ended(failed=failed)
        self._draw()

    def close(self) -> None:
        """Erase the line (before pytest writes the test's outcome); idempotent."""
        if self._column is None:
            return
        column, self._column = self._column, None
        self._write(lambda: self._back_to(column) + ERASE)

    def _draw(self) -> None:
        self._drawn_at = self._clock()
        column = self._writer.width_of_current_line
        full = self._writer.fullwidth
        if column < 0 or (column and column % full == 0):
            return  # unknown width, or pytest's text just filled the row: no safe place
        width = full - column % full - 2  # a space before, the last cell left empty
        if width < MIN_WIDTH:
            return
        if self._renderer is None:
            self._renderer = _Renderer(self.campaign.max_examples, color=self._color)
        renderer = self._renderer
        if self._write(lambda: f"{self._back_to(column)}{ERASE} {renderer.render(self.campaign, width)}"):
            self._column = column

    def _back_to(self, column: int) -> str:
        """Cursor to ``column`` of the row: to the line start, then forward."""
        forward = column % self._writer.fullwidth
        return "\r" + (f"\x1b[{forward}C" if forward else "")

    def _write(self, text: Callable[[], str]) -> bool:
        """Write ``text()`` with capture lifted; return whether it was written. The line must
        never fail the test: a terminal that fails (closed, vanished) or a rendering that
        raises turns it off for the rest of the test."""
        if self._broken:
            return False
        try:
            with self._suspended():
                self._writer.flush()  # pytest's own text first
                self._writer.write_raw(text(), flush=True)
        except Exception:  # noqa: BLE001 - see the docstring
            self._broken = True
            return False
        return True


def planned_examples(test: Any) -> int | None:
    """The ``max_examples`` of a ``@given`` test's settings (or the loaded profile's)."""
    target: Any = getattr(test, "__func__", test)  # a test method: settings live on the function
    chosen: Any = getattr(target, "_hypothesis_internal_use_settings", None)
    if chosen is None:
        from hypothesis import settings

        chosen = settings()
    planned = getattr(chosen, "max_examples", None)
    return planned if isinstance(planned, int) else None


def campaign_progress(item: Any, config: Any) -> CampaignProgress | None:
    """The progress line for ``item`` when it is a ``@given`` test on a terminal, else None
    (see :func:`quiet_reason`)."""
    test = getattr(item, "obj", None)
    if not getattr(test, "is_hypothesis_test", False) or quiet_reason(config) is not None:
        return None
    capture = config.pluginmanager.get_plugin("capturemanager")
    suspended: Callable[[], contextlib.AbstractContextManager[Any]] = (
        capture.global_and_fixture_disabled if capture is not None else contextlib.nullcontext
    )
    with suspended():  # sys.stdout is pytest's terminal again, not the capture
        on_a_terminal = _is_a_terminal(sys.stdout)
    if not on_a_terminal:
        return None
    writer = config.get_terminal_writer()
    return CampaignProgress(Campaign(planned_examples(test)), writer, suspended, color=writer.hasmarkup)


def quiet_reason(config: Any) -> str | None:
    """Why a session shows no progress line whatever its terminal, or None.

    An xdist worker has no terminal (the controller shows pytest's own progress); without
    pytest's terminal reporter (``-p no:terminal``) there is nothing to write through; ``-qq``
    asks for the least output; with ``-s`` the test's own output goes to the terminal and would
    tangle with the line; live logging's records already show that the test moves.
    """
    if hasattr(config, "workerinput"):
        return "an xdist worker"
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        return "no terminal reporter (-p no:terminal)"
    if config.getoption("verbose", 0) < -1:
        return "-qq"
    if config.getoption("capture", None) == "no":
        return "-s (no capture)"
    if config.getoption("log_cli_level", None) is not None or config.getini("log_cli"):
        return "live logging"
    return None


def _is_a_terminal(stream: Any) -> bool:
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in DUMB_TERMINALS
