"""``python -m pytest_temporal_agents replay``: one line per history, a summary, exit 0 / 1 / 2."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from replay_support import FIXTURE_DIR, HISTORIES

from pytest_temporal_agents.replay._cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    main,
    replay_command,
)


def _run(paths: list[str], *specs: str, quiet: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    return replay_command(paths, list(specs), quiet=quiet, out=out), out.getvalue()


def test_every_history_replays_exit_0() -> None:
    status, text = _run([str(HISTORIES)], "replay_fixture_workflows:V1")
    assert status == EXIT_OK
    lines = text.strip().splitlines()
    assert len([line for line in lines if line.startswith("OK ")]) == 4
    assert any(line.startswith("OK") and line.endswith("Pricer-1.json  Pricer, 31 events") for line in lines)
    assert lines[-1] == "4 histories: 4 ok"


def test_nondeterminism_exits_1_with_a_line_each_then_the_reports() -> None:
    status, text = _run([str(HISTORIES)], "replay_fixture_workflows:UNPATCHED")
    assert status == EXIT_FAILED
    failed = [line for line in text.splitlines() if line.startswith("NONDETERMINISTIC ")]
    assert len(failed) == 2
    assert all("nondeterministic at event 5 (ActivityTaskScheduled fetch_quote(" in line for line in failed)
    assert text.count("=== ") == 2 and "The current code instead scheduled activity check_risk(" in text
    assert text.strip().splitlines()[-1] == "4 histories: 2 ok, 2 nondeterministic"


def test_quiet_prints_only_failures_and_the_summary() -> None:
    status, text = _run([str(HISTORIES)], "replay_fixture_workflows:Pricer", quiet=True)
    assert status == EXIT_BAD_INPUT  # the Analyze histories have no class: bad input
    assert not [line for line in text.splitlines() if line.startswith("OK ")]
    assert text.strip().splitlines()[-1] == "4 histories: 2 ok, 2 invalid"


def test_a_malformed_file_is_bad_input_and_the_others_still_replay(tmp_path: Path) -> None:
    shutil.copytree(HISTORIES, tmp_path / "h")
    (tmp_path / "h" / "broken.json").write_text('{"events": ')
    status, text = _run([str(tmp_path / "h")], "replay_fixture_workflows:V1")
    assert status == EXIT_BAD_INPUT
    assert any(line.startswith("INVALID") and "broken.json is not valid JSON" in line for line in text.splitlines())
    assert text.strip().splitlines()[-1] == "5 histories: 4 ok, 1 invalid"


@pytest.mark.parametrize(
    ("paths", "spec", "message"),
    [
        (["nowhere"], "replay_fixture_workflows:V1", "error: History path 'nowhere' does not exist; give history JSON files or directories"),
        ([], "replay_fixture_workflows:V1", "error: no history files (*.json) under "),
        ([str(HISTORIES)], "replay_fixture_workflows:NOPE", "error: Invalid workflows 'replay_fixture_workflows:NOPE'"),
    ],
    ids=["missing-path", "no-files", "bad-workflows"],
)
def test_bad_input_exits_2_with_the_reason(tmp_path: Path, paths: list[str], spec: str, message: str) -> None:
    status, text = _run(paths or [str(tmp_path)], spec)
    assert status == EXIT_BAD_INPUT
    assert text.startswith(message)


def test_missing_arguments_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["replay", str(HISTORIES)])
    assert info.value.code == EXIT_BAD_INPUT
    assert "the following arguments are required: --workflows" in capsys.readouterr().err


def test_python_dash_m_runs_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_temporal_agents", "replay", str(HISTORIES), "--workflows", "replay_fixture_workflows:UNPATCHED", "-q"],
        capture_output=True,
        text=True,
        cwd=FIXTURE_DIR,  # `python -m` puts the working directory on sys.path
        env={**os.environ, "PYTHONPATH": ""},
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_FAILED, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "4 histories: 2 ok, 2 nondeterministic"
