"""Progress bars: drawn on a terminal (a real pseudo-terminal here), absent from a pipe.

Both cases run a real subprocess: the progress module's bar for several steps, and
``python -m pytest_temporal_agents replay`` over the recorded histories directory.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from terminal_support import run_in_a_terminal

from reference_workflows import progress

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = "\x1b"
STEPS_SCRIPT = """
import time
from reference_workflows import progress
with progress.steps(3, "patterns") as bar:
    for name in ("saga", "polling", "chained"):
        bar.begin(name)
        print(f"ran {name}", flush=True)
        time.sleep(0.3)
        bar.done()
print("all done")
"""
REPLAY = [
    "-m",
    "pytest_temporal_agents",
    "replay",
    "tests/histories",
    "--workflows",
    "reference_workflows.workflows:ALL_WORKFLOWS",
    "--workflows",
    "reference_workflows.workflows.versioned:WORKFLOWS",
    "-q",
]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _env() -> dict[str, str]:
    # This tree's code, whatever is installed; a terminal type rich draws on.
    return {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "100"}


def _in_a_terminal(args: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run ``python ARGS`` with a pseudo-terminal as stdout and stderr; its output, decoded."""
    return run_in_a_terminal([sys.executable, *args], cwd=ROOT, env=_env(), timeout=timeout)


def _in_a_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
        check=False,
    )


def test_steps_draw_a_bar_on_a_terminal_with_the_lines_above_it() -> None:
    code, out = _in_a_terminal(["-c", STEPS_SCRIPT])
    assert code == 0, out
    assert ESCAPE in out  # the bar is drawn, redrawn and cleared with control codes
    assert "patterns: saga" in out and "patterns: chained" in out
    assert "3/3" in out or "2/3" in out
    for name in ("saga", "polling", "chained"):
        assert f"ran {name}" in out
    assert out.rstrip().endswith("all done")


def test_steps_are_silent_in_a_pipe() -> None:
    done = _in_a_pipe(["-c", STEPS_SCRIPT])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran saga\nran polling\nran chained\nall done\n"
    assert done.stderr == ""


def test_steps_are_silent_on_a_stream_that_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with progress.steps(2, "x", stream=stream) as bar:
        bar.begin("a")
        bar.done()
    assert stream.getvalue() == ""
    assert not progress.shows_bars(stream)


def test_replaying_a_directory_shows_a_bar_on_a_terminal_only() -> None:
    histories = len(list((ROOT / "tests" / "histories").rglob("*.json")))
    code, out = _in_a_terminal(REPLAY)
    assert code == 0, out
    assert "replaying histories" in out and ESCAPE in out
    assert f"{histories} histories: {histories} ok" in out

    piped = _in_a_pipe(REPLAY)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert ESCAPE not in piped.stdout and "replaying histories" not in piped.stdout
    assert piped.stdout.strip() == f"{histories} histories: {histories} ok"
