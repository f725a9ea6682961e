"""Recorded histories collected as pytest items: one per file, its id the file's path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pytester_support import INI, run_expecting
from replay_support import FIXTURE_DIR, HISTORIES


@pytest.fixture
def ci(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the fixture's recorded histories under ``histories/``."""
    pytester.syspathinsert(FIXTURE_DIR)
    shutil.copytree(HISTORIES, pytester.path / "histories")
    return pytester


def _ini(pytester: pytest.Pytester, extra: str) -> None:
    pytester.makeini(f"{INI}temporal_replay_paths = histories\n{extra}")


def test_each_history_is_an_item_named_by_its_path_and_replays(ci: pytest.Pytester) -> None:
    _ini(ci, "temporal_workflows = replay_fixture_workflows:V1\n")
    (ci.path / "elsewhere.json").write_text("{}")  # not under temporal_replay_paths: ignored
    result = run_expecting(ci, "-v", passed=4)
    result.stdout.fnmatch_lines(
        [
            "histories/tests-histories_fixture-record_fixture_histories.py--test_one_symbol/Analyze-1.json PASSED*",
            "histories/tests-histories_fixture-record_fixture_histories.py--test_one_symbol/Pricer-1.json PASSED*",
        ],
        consecutive=False,
    )


def test_a_change_without_patched_fails_with_the_readable_report(ci: pytest.Pytester) -> None:
    _ini(ci, "temporal_workflows = replay_fixture_workflows:UNPATCHED\n")
    result = run_expecting(ci, passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ replay histories/*test_one_symbol/Pricer-1.json _*",
            "histories/*test_one_symbol/Pricer-1.json (Pricer) does not replay: nondeterministic at event 5 (ActivityTaskScheduled fetch_quote(\"NVDA\") id=1)",
            "At event 5 the history has:",
            "The current code instead scheduled activity check_risk([[]\"NVDA\"[]])",
            "    at *replay_fixture_workflows.py:*: if not await workflow.execute_activity(check_risk, symbols*",
            "Likely causes:",
            "*if workflow.patched(\"my-change\"):",
            "SDK message:",
        ]
    )
    assert "Traceback" not in result.stdout.str()  # the report replaces the traceback


def test_the_patched_change_replays_the_old_histories(ci: pytest.Pytester) -> None:
    _ini(ci, "")
    run_expecting(ci, "--temporal-workflows=replay_fixture_workflows:PATCHED", passed=4)


def test_bad_files_fail_their_own_items_and_the_session_goes_on(ci: pytest.Pytester) -> None:
    _ini(ci, "temporal_workflows = replay_fixture_workflows:Pricer\n")
    bad = ci.path / "histories" / "bad"
    bad.mkdir()
    (bad / "malformed.json").write_text('{"events": [{"eventId": "1"')
    good = json.loads(next(HISTORIES.rglob("Pricer-1.json")).read_text())
    (bad / "truncated.json").write_text(json.dumps({"events": good["events"][2:]}))
    (bad / "package.json").write_text('{"name": "not a history"}')
    # 2 Pricer histories pass; 2 Analyze histories (type not in Pricer) and 3 bad files fail.
    result = run_expecting(ci, passed=2, failed=5)
    result.stdout.fnmatch_lines(
        [
            "histories/bad/malformed.json is not valid JSON (line 1, column 28: Expecting ',' delimiter)*",
            "histories/bad/package.json is not a Temporal history: no \"events\" list.",
            "histories/bad/truncated.json cannot be replayed: it is truncated at the start: its first event is WorkflowTaskStarted (id 3)*",
            "histories/*/Analyze-1.json is a history of workflow type 'Analyze', which none of the workflows*",
            "Known workflow types: Pricer.",
        ],
        consecutive=False,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", "*no workflows are named to replay it against.*"),
        ("temporal_workflows = replay_fixture_workflows:MISSING\n", "*'replay_fixture_workflows' has no attribute 'MISSING'*"),
        ("temporal_workflows = not_a_module_xyz:ALL\n", "*cannot import 'not_a_module_xyz'*"),
    ],
    ids=["unset", "no-attribute", "no-module"],
)
def test_unusable_workflows_fail_every_item_with_the_fix(ci: pytest.Pytester, extra: str, message: str) -> None:
    _ini(ci, extra)
    result = run_expecting(ci, failed=4)
    result.stdout.fnmatch_lines([message])


def test_one_file_can_be_selected_by_its_path(ci: pytest.Pytester) -> None:
    _ini(ci, "temporal_workflows = replay_fixture_workflows:V1\n")
    target = next(Path("histories").rglob("Pricer-1.json"))
    run_expecting(ci, str(target), passed=1)


def test_pathological_files_fail_their_items_without_an_internal_error(ci: pytest.Pytester) -> None:
    _ini(ci, "temporal_workflows = replay_fixture_workflows:V1\n")
    bad = ci.path / "histories" / "bad"
    bad.mkdir()
    (bad / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (bad / "binary.json").write_bytes(b"\x00\xff\xfe garbage")
    (bad / "empty.json").write_text("")
    result = run_expecting(ci, passed=4, failed=3)
    result.stdout.fnmatch_lines(
        [
            "histories/bad/binary.json is not UTF-8 text (byte 0xff at offset 1)*",
            "histories/bad/empty.json is not valid JSON (it is empty); a truncated download or a bad merge?",
            "histories/bad/nested.json is JSON nested too deeply to read*",
        ],
        consecutive=False,
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "RecursionError" not in result.stdout.str()
