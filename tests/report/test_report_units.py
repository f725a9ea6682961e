"""The report's parts without a nested pytest run: the axis, the verdicts, the session's
outcomes, and ``write_workflow_report`` on saved histories."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_browser import parse

from pytest_temporal_agents import History
from pytest_temporal_agents.report import (
    SessionReport,
    replay_verdict,
    workflow_data,
    workflow_report,
    write_workflow_report,
)
from pytest_temporal_agents.report._axis import Axis

ROOT = Path(__file__).resolve().parents[2]
CHAINED = (
    ROOT / "tests/histories/tests-reference-test_wf_chained.py--"
    "test_a_compensated_saga_ends_the_chain_rejected_with_the_ledger_as_before"
)


def test_a_short_run_is_drawn_to_scale() -> None:
    axis = Axis([0.010, 0.020, 0.040])
    assert axis.cuts == []
    assert axis.at(0.010) == pytest.approx(25.0) and axis.at(0.040) == 100.0


def test_a_gap_far_longer_than_the_rest_is_cut_and_labelled() -> None:
    day = 86400.0
    axis = Axis([0.010, 0.020, day, day + 0.010])
    [cut] = axis.cuts
    assert cut.seconds == pytest.approx(day - 0.020)
    assert cut.right - cut.left < 50  # drawn shorter than everything else put together
    assert axis.at(0.020) > 20  # the milliseconds before it stay visible
    labels = [label for _, label in axis.ticks()]
    assert labels[-1] == "1 d + 10 ms"


def test_the_verdict_names_a_workflow_that_does_not_replay() -> None:
    problems = [
        "- workflow 'other' (Pricer) does not replay: nondeterministic at event 5",
        "- workflow 'wf-1' (Pricer) does not replay: nondeterministic at event 7 (ActivityTaskScheduled)\n  details",
    ]
    verdict = replay_verdict(
        "wf-1", "Pricer", checked=True, replayable={"Pricer"}, problems=problems
    )
    assert verdict == {
        "status": "failed",
        "text": "workflow 'wf-1' (Pricer) does not replay: nondeterministic at event 7 (ActivityTaskScheduled)",
    }
    assert (
        replay_verdict("wf-2", "Pricer", checked=True, replayable={"Pricer"}, problems=problems)[
            "status"
        ]
        == "ok"
    )
    assert (
        replay_verdict("wf-2", "Mocked", checked=True, replayable={"Pricer"}, problems=())["status"]
        == "none"
    )
    assert (
        replay_verdict("wf-1", "Pricer", checked=False, replayable={"Pricer"}, problems=problems)[
            "status"
        ]
        == "off"
    )


def test_the_phases_of_a_test_fold_into_one_outcome() -> None:
    session = SessionReport()
    session.add("t::setup_error", "setup", "failed", message="boom")
    session.add("t::setup_error", "teardown", "passed")
    session.add("t::fails", "setup", "passed", duration=0.5)
    session.add("t::fails", "call", "failed", duration=1.0, message="assert 1 == 2")
    session.add("t::fails", "teardown", "failed", message="teardown problem")
    session.add("t::skips", "setup", "skipped", message="no server")
    session.add("t::xfails", "call", "skipped", xfail=True)
    session.add("t::passes", "call", "passed", workflows=[{"id": "w", "rows": []}])
    outcomes = {t["nodeid"]: t["outcome"] for t in session.tests}
    assert outcomes == {
        "t::setup_error": "error",
        "t::fails": "failed",
        "t::skips": "skipped",
        "t::xfails": "xfailed",
        "t::passes": "passed",
    }
    fails = session.tests[1]
    assert fails["duration"] == 1.5 and fails["message"] == "assert 1 == 2\n\nteardown problem"


def test_saved_histories_make_a_report_without_pytest(tmp_path: Path) -> None:
    histories = [History.load(path) for path in sorted(CHAINED.glob("*.json"))]
    written = write_workflow_report(histories, tmp_path / "new/dir/runs.html", title="Past runs")
    dom = parse(written.read_text())
    assert dom.one("title").text == "Past runs"
    stats = {n.attrs["data-stat"]: n.one("b").text for n in dom.find_all("div", "stat")}
    assert stats["workflows"] == "3" and stats["completed"] == "2" and stats["failed"] == "1"
    types = [s.attrs["data-workflow-type"] for s in dom.find_all("section", "workflow")]
    assert types == ["ChainedTradingWorkflow", "ConditionalStrategyWorkflow", "TradeSagaWorkflow"]
    saga = dom.one("section", "workflow", data_workflow_type="TradeSagaWorkflow")
    rows = {r.attrs["data-name"]: r for r in saga.find_all("div", "call")}
    failed = [name for name, r in rows.items() if r.attrs["data-status"] == "failed"]
    compensations = [name for name, r in rows.items() if r.find_all(cls="comp")]
    assert failed and compensations
    assert all(list(rows).index(c) > list(rows).index(failed[0]) for c in compensations)


def test_long_runs_are_capped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_temporal_agents.report._collect as collect

    monkeypatch.setattr(collect, "MAX_ROWS", 2)
    [history] = [History.load(p) for p in CHAINED.glob("TradeSagaWorkflow-1.json")]
    data = workflow_data(history)
    assert len(data["rows"]) == 2
    assert data["notes"] and data["notes"][0].endswith("not drawn (the first 2 are)")
    assert "not drawn (the first 2 are)" in workflow_report([history])


def test_an_unwritable_path_is_an_os_error_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=r"could not write the HTML report to '.*file/r.html'"):
        write_workflow_report([], tmp_path / "file/r.html")
