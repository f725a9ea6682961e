"""The replay engine on recorded histories (the SDK's replayer needs no server)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from replay_fixture_workflows import PATCHED, UNPATCHED, V1, Analyze, Pricer
from replay_support import HISTORIES

from pytest_temporal_agents import TemporalConfigError
from pytest_temporal_agents.history._files import (
    HistoryFileError,
    find_history_files,
    history_dir_name,
    load_history_file,
    recorded_file_name,
    save_history_file,
)
from pytest_temporal_agents.harness._options import merge_markers, resolve_replay_settings
from pytest_temporal_agents.replay._process import other_hash_seed, portable_ref
from pytest_temporal_agents.replay._engine import (
    INVALID,
    NONDETERMINISTIC,
    OK,
    ReplayFailed,
    load_workflow_specs,
    load_workflows,
    replay_files,
    replay_histories,
)

ALL_FILES = sorted(HISTORIES.rglob("*.json"))


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """A writable copy of the recorded histories."""
    target = tmp_path / "histories"
    shutil.copytree(HISTORIES, target)
    return target


async def test_the_recorded_histories_replay_against_the_code_that_wrote_them() -> None:
    results = await replay_files([HISTORIES], V1)
    assert len(results) == len(ALL_FILES) == 4
    assert [r.status for r in results] == [OK] * 4
    assert {r.workflow_type for r in results} == {"Pricer", "Analyze"}


async def test_a_change_without_patched_is_nondeterministic_and_with_it_replays() -> None:
    unpatched = await replay_files([HISTORIES], UNPATCHED)
    assert {r.workflow_type: r.status for r in unpatched} == {"Pricer": NONDETERMINISTIC, "Analyze": OK}
    failed = next(r for r in unpatched if not r.ok)
    assert failed.event_id == 5
    assert failed.headline.startswith("nondeterministic at event 5 (ActivityTaskScheduled fetch_quote(")
    assert "The current code instead scheduled activity check_risk([" in failed.report
    assert "replay_fixture_workflows.py:" in failed.report  # the line that schedules it
    assert failed.sdk_message and "TMPRL1100" in failed.sdk_message
    with pytest.raises(ReplayFailed, match="does not replay"):
        failed.raise_for_status()
    assert [r.status for r in await replay_files([HISTORIES], PATCHED)] == [OK] * 4


async def test_bad_files_are_invalid_results_and_the_rest_still_replay(copies: Path) -> None:
    (copies / "malformed.json").write_text('{"events": [')
    (copies / "not-a-history.json").write_text('{"name": "package"}')
    good = next(copies.rglob("Pricer-1.json"))
    data = json.loads(good.read_text())
    (copies / "truncated-start.json").write_text(json.dumps({"events": data["events"][3:]}))
    gap = dict(data, events=data["events"][:5] + data["events"][6:])
    (copies / "gap.json").write_text(json.dumps(gap))
    everything = await replay_files([copies], [Pricer])
    results = {Path(r.source).name: r for r in everything}
    assert results["malformed.json"].status == INVALID
    assert "is not valid JSON (line 1, column" in results["malformed.json"].headline
    assert 'no "events" list' in results["not-a-history.json"].report
    assert "truncated at the start: its first event is WorkflowTaskCompleted (id 4)" in results["truncated-start.json"].headline
    assert "event 6 is missing" in results["gap.json"].headline
    unknown = [r for r in results.values() if r.workflow_type == "Analyze"]
    assert unknown and all(r.status == INVALID for r in unknown)
    assert "workflow type 'Analyze', which none of the workflows" in unknown[0].report
    assert "Known workflow types: Pricer." in unknown[0].report
    recorded = [r for r in everything if Path(r.source).name == "Pricer-1.json"]
    assert [r.status for r in recorded] == [OK, OK]
    assert results["gap.json"].workflow_type == "Pricer"


async def test_a_history_cut_short_at_the_end_is_a_running_workflow_and_replays(tmp_path: Path) -> None:
    history = load_history_file(next(HISTORIES.rglob("Pricer-1.json")))
    data = json.loads(history.to_json())
    path = tmp_path / "running.json"
    path.write_text(json.dumps({"workflowId": history.workflow_id, "events": data["events"][:12]}))
    [result] = await replay_files([path], V1)
    assert result.ok and result.events == 12


def test_saved_files_keep_the_workflow_id(tmp_path: Path) -> None:
    original = next(HISTORIES.rglob("Pricer-1.json"))
    history = load_history_file(original)
    assert history.workflow_id.endswith("-pricer-1")  # not the file's name
    copy = load_history_file(save_history_file(history, tmp_path / "a" / "b.json"))
    assert copy.workflow_id == history.workflow_id and len(copy.events) == len(history.events)
    del_id = json.loads(original.read_text())
    del del_id["workflowId"]
    (tmp_path / "plain.json").write_text(json.dumps(del_id))  # as `temporal workflow show` writes
    assert load_history_file(tmp_path / "plain.json").workflow_id == "plain"


def test_missing_paths_and_unreadable_files_raise_history_file_errors(tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="Cannot read history file .*nope.json"):
        load_history_file(tmp_path / "nope.json")
    with pytest.raises(HistoryFileError, match="History path .*gone' does not exist"):
        find_history_files([tmp_path / "gone"])


async def test_histories_from_memory_are_replayed_in_order() -> None:
    loaded = [(str(p), load_history_file(p)) for p in ALL_FILES]
    results = await replay_histories(list(reversed(loaded)), UNPATCHED)
    assert [r.source for r in results] == [source for source, _ in reversed(loaded)]


def test_workflows_load_from_a_spec_or_explain_the_mistake() -> None:
    assert load_workflows("replay_fixture_workflows:V1") == [Pricer, Analyze]
    assert load_workflows("replay_fixture_workflows:Pricer") == [Pricer]
    for spec, problem in (
        ("replay_fixture_workflows", "no ':'"),
        ("no_such_module_xyz:ALL", "cannot import 'no_such_module_xyz'"),
        ("replay_fixture_workflows:NOPE", "has no attribute 'NOPE'"),
        ("replay_fixture_workflows:fetch_quote", "is not a @workflow.defn class"),
    ):
        with pytest.raises(TemporalConfigError) as info:
            load_workflows(spec)
        assert problem in str(info.value) and 'Expected "pkg.module:ATTR"' in str(info.value)


def test_several_specs_load_in_order_without_duplicates() -> None:
    loaded = load_workflow_specs("replay_fixture_workflows:Pricer, replay_fixture_workflows:V1")
    assert loaded == [Pricer, Analyze]
    with pytest.raises(TemporalConfigError, match="it is empty"):
        load_workflow_specs(" , ")


def test_recorded_names_are_stable_and_safe() -> None:
    nodeid = "tests/reference/test_trading.py::TestBuy::test_buy[AAPL-0.7]"
    assert history_dir_name(nodeid) == "tests-reference-test_trading.py--TestBuy--test_buy-AAPL-0.7"
    assert history_dir_name(nodeid) == history_dir_name(nodeid)
    long = "tests/x.py::test_" + "y" * 300
    assert len(history_dir_name(long)) == 120 and history_dir_name(long) != history_dir_name(long + "z")
    assert recorded_file_name("pkg:Weird Name", 2) == "pkg-Weird-Name-2.json"


def test_the_helper_interpreter_gets_another_hash_seed() -> None:
    assert other_hash_seed({"PYTHONHASHSEED": "0"}) == "1"
    assert other_hash_seed({"PYTHONHASHSEED": "4294967295"}) == "0"
    assert other_hash_seed({}).isdigit()


def test_only_classes_importable_by_name_go_to_the_helper() -> None:
    module, qualname, file = portable_ref(Pricer) or ["", "", ""]
    assert (module, qualname) == ("replay_fixture_workflows", "Pricer") and file.endswith(".py")

    class Local:
        pass

    assert portable_ref(Local) is None


def test_replay_settings_and_the_marker_argument() -> None:
    settings = resolve_replay_settings(
        {"temporal_replay_check": "false"}.get, {"temporal_record_histories": "hist"}.get
    )
    assert (settings.check, settings.record_histories, settings.record_from_command_line) == (False, "hist", False)
    assert resolve_replay_settings({}.get, {}.get).check is True
    with pytest.raises(TemporalConfigError, match="Invalid boolean 'maybe' for --temporal-replay-check"):
        resolve_replay_settings({"temporal_replay_check": "maybe"}.get, {}.get)
    assert merge_markers([((), {"replay_check": False})]).replay_check is False
    with pytest.raises(TemporalConfigError, match="replay_check='no'"):
        merge_markers([((), {"replay_check": "no"})])
