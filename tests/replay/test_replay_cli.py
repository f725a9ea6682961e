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


def _bad_files(directory: Path) -> dict[str, str]:
    """Bad history files among good ones; each file's expected line after ``INVALID``."""
    shutil.copytree(HISTORIES, directory)
    files = {
        "nested.json": ("[" * 100_000 + "]" * 100_000, "is JSON nested too deeply to read"),
        "empty.json": ("", "is not valid JSON (it is empty); a truncated download or a bad merge?"),
        "list.json": ("[1, 2]", 'is not a Temporal history: no "events" list (the file holds list).'),
        "truncated.json": ('{"events": [{"eventId": "1"', "is not valid JSON (line 1, column 28: Expecting ',' delimiter)"),
    }
    for name, (text, _) in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    (directory / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n")
    (directory / "dangling.json").symlink_to(directory / "nowhere.json")
    expected = {name: f"{directory / name} {reason}" for name, (_, reason) in files.items()}
    expected["binary.json"] = f"{directory / 'binary.json'} is not UTF-8 text (byte 0x89 at offset 0)"
    expected["dangling.json"] = f"Cannot read history file {str(directory / 'dangling.json')!r}: No such file or directory."
    return expected


def test_each_bad_file_is_reported_by_name_the_others_replay_and_it_exits_2(tmp_path: Path) -> None:
    expected = _bad_files(tmp_path / "h")
    status, text = _run([str(tmp_path / "h")], "replay_fixture_workflows:V1")
    assert status == EXIT_BAD_INPUT
    lines = text.splitlines()
    for name, message in expected.items():
        assert [line for line in lines if line.startswith("INVALID ") and message in line], name
    assert len([line for line in lines if line.startswith("OK ")]) == 4
    assert lines[-1] == "10 histories: 4 ok, 6 invalid"
    assert "Traceback" not in text


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_bad_files_end_to_end_print_no_traceback(tmp_path: Path, jobs: str) -> None:
    expected = _bad_files(tmp_path / "h")
    # Valid in shape, but its input's encoding is unknown: the workflow raises during replay,
    # and the SDK logs that with a traceback, which the command keeps out of its output.
    pricer = next(HISTORIES.rglob("Pricer-1.json")).read_text(encoding="utf-8")
    bogus = pricer.replace('"encoding": "anNvbi9wbGFpbg=="', '"encoding": "Ym9ndXM="', 1)
    (tmp_path / "h" / "bad-payload.json").write_text(bogus, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_temporal_agents", "replay", str(tmp_path / "h"), "--workflows", "replay_fixture_workflows:V1", "-j", jobs],
        capture_output=True,
        text=True,
        cwd=FIXTURE_DIR,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), str(FIXTURE_DIR)])},
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    for message in expected.values():
        assert message in done.stdout
    assert "ERROR             " in done.stdout and "bad-payload.json  the workflow code raised" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "11 histories: 4 ok, 1 error, 6 invalid"
    assert "Traceback" not in done.stdout + done.stderr
