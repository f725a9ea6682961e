"""``--temporal-record-histories``: stable names, overwriting, and a round trip through CI items."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
from pytester_support import INI, run_expecting
from replay_support import FIXTURE_DIR

from pytest_temporal_agents.history import describe_event, load_history_file

TESTS = dedent(
    """
    from replay_fixture_workflows import ACTIVITIES, V1, Pricer

    async def test_two_pricers(temporal):
        await temporal.run(Pricer.run, ["MSFT", "AAPL"], workflows=V1, activities=ACTIVITIES)
        await temporal.run(Pricer.run, ["NVDA"], workflows=V1, activities=ACTIVITIES)

    async def test_fails_after_running(temporal):
        await temporal.run(Pricer.run, ["IBM"], workflows=V1, activities=ACTIVITIES)
        assert False, "not recorded: a failing test's histories are not trusted"
    """
)

RECORDED = "test_inner.py--test_two_pricers"


@pytest.fixture
def project(project: pytest.Pytester) -> pytest.Pytester:
    """The shared nested-run project, running ``TESTS`` on the replay fixture's workflows."""
    project.syspathinsert(FIXTURE_DIR)
    project.makepyfile(test_inner=TESTS)
    return project


def _names(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_each_workflow_and_child_gets_a_stable_name(project: pytest.Pytester) -> None:
    run_expecting(project, "--temporal-record-histories=hist", passed=1, failed=1)
    assert _names(project.path / "hist") == [
        f"{RECORDED}/Analyze-1.json",
        f"{RECORDED}/Analyze-2.json",
        f"{RECORDED}/Pricer-1.json",
        f"{RECORDED}/Pricer-2.json",
    ]
    first = json.loads((project.path / "hist" / RECORDED / "Pricer-1.json").read_text())
    assert first["workflowId"].startswith("test-inner-py-test-two-pricers-")
    assert first["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    started = load_history_file(project.path / "hist" / RECORDED / "Pricer-1.json").events[0]
    assert describe_event(started).startswith('Pricer(["MSFT","AAPL"])')  # the first one started


def test_re_recording_overwrites_and_drops_stale_files(project: pytest.Pytester) -> None:
    stale = project.path / "hist" / RECORDED / "Pricer-3.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    notes = stale.parent / "NOTES.md"
    notes.write_text("kept: not a recorded history")
    project.runpytest("--temporal-record-histories=hist")
    before = (project.path / "hist" / RECORDED / "Pricer-1.json").read_text()
    assert not stale.exists() and notes.exists()
    project.runpytest("--temporal-record-histories=hist")
    after = (project.path / "hist" / RECORDED / "Pricer-1.json").read_text()
    assert after != before  # a new run, new ids and times: the same name, overwritten
    assert len(_names(project.path / "hist")) == 5


def test_the_ini_setting_is_relative_to_the_ini_file_and_recordings_replay_as_items(
    project: pytest.Pytester,
) -> None:
    project.makeini(INI + "temporal_record_histories = recorded\n")
    project.runpytest("test_inner.py")
    assert len(_names(project.path / "recorded")) == 4
    project.makeini(INI + "temporal_replay_paths = recorded\ntemporal_workflows = replay_fixture_workflows:V1\n")
    run_expecting(project, "recorded", passed=4)


def test_a_test_can_save_one_history_itself(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner=dedent(
            """
            from replay_fixture_workflows import ACTIVITIES, V1, Pricer

            async def test_save(temporal, tmp_path):
                handle = await temporal.start(Pricer.run, ["AAPL"], workflows=V1, activities=ACTIVITIES)
                await handle.result()
                saved = await temporal.save_history(handle, tmp_path / "pricer.json")
                assert (await temporal.replay(saved, workflows=V1)).ok
            """
        )
    )
    run_expecting(project, passed=1)
