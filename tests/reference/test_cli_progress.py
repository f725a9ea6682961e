"""Progress bars: drawn on a terminal (a real pseudo-terminal here), absent from a pipe.

Both cases run a real subprocess: the progress module's bar for several steps, and
``python -m pytest_temporal_agents replay`` over a directory of recorded histories: two
patterns' histories, replayed against those patterns' modules only. (The bar does not depend on
how many histories there are; every recorded history is replayed in ``tests/replay``. All of
them, against ``ALL_WORKFLOWS`` and its Agents SDK import, took 8 s a run here; these 1 s.)
"""

from __future__ import annotations

import io
import os
import shutil
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
#: The recorded histories replayed here, by the pattern module whose workflows wrote them.
REPLAYED = {"sequential": "test_wf_sequential.py", "saga": "test_wf_saga.py"}

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


def _replay_command(histories: Path) -> list[str]:
    """``python -m pytest_temporal_agents replay`` of ``histories`` with ``REPLAYED``'s
    workflow modules, after copying their recorded histories there (one directory a test)."""
    recorded = ROOT / "tests" / "histories"
    command = ["-m", "pytest_temporal_agents", "replay", str(histories), "-q"]
    for module, test_file in REPLAYED.items():
        for directory in recorded.glob(f"tests-reference-{test_file}--*"):
            shutil.copytree(directory, histories / directory.name)
        command += ["--workflows", f"reference_workflows.workflows.{module}:WORKFLOWS"]
    return command


def test_replaying_a_directory_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    replay = _replay_command(tmp_path / "histories")
    histories = len(list((tmp_path / "histories").rglob("*.json")))
    assert histories >= 10  # several histories of each pattern, in a directory each
    code, out = _in_a_terminal(replay)
    assert code == 0, out
    assert "replaying histories" in out and ESCAPE in out
    assert f"{histories} histories: {histories} ok" in out

    piped = _in_a_pipe(replay)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert ESCAPE not in piped.stdout and "replaying histories" not in piped.stdout
    assert piped.stdout.strip() == f"{histories} histories: {histories} ok"
