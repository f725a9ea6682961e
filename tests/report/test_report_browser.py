"""The report of a real session, rendered in headless Chromium: what a person sees.

One nested pytest session (a subprocess) runs real workflows on the time-skipping server: a
saga that compensates, an injected fault with a failed attempt, a timer, a signal, a child,
a mocked activity, an agent whose model calls go to ``fake_llm`` and which calls a tool,
and a test whose workflow id, argument and failure are HTML. The tests below read the
written file, the DOM Chromium renders from it, and a screenshot of it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest
from pytester_support import INI
from report_browser import Node, dump_dom, parse, png_pixels, screenshot

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

SESSION_TESTS = dedent(
    """
    import pytest
    from temporalio.client import WorkflowFailureError

    from pytest_temporal_agents.faults import non_retryable_error, retryable_error
    from report_workflows import ChildStep, PatientWorkflow, PriceWorkflow, fetch_price, notify
    from research_agent import Question, ResearchAgent, call_model, get_price
    from trip_saga import Bookings, BookTrip, Trip


    async def test_the_saga_compensates(temporal):
        temporal.inject(non_retryable_error(Bookings.charge_card, type="CardDeclined", message="card declined"))
        with pytest.raises(WorkflowFailureError):
            await temporal.run(BookTrip.run, Trip("T-1"), activities=Bookings().activities())


    async def test_a_failed_attempt_is_retried(temporal):
        temporal.inject(retryable_error(fetch_price, attempts=[1], message="exchange down"))
        assert await temporal.run(PriceWorkflow.run, "AAPL", activities=[fetch_price]) == 189.5


    async def test_timer_signal_child_and_mock(temporal):
        temporal.mock_activity(notify, returns="sent")
        handle = await temporal.start(
            PatientWorkflow.run, "AAPL", workflows=[PatientWorkflow, ChildStep],
            activities=[fetch_price, notify],
        )
        await handle.signal(PatientWorkflow.approve, "ada")
        assert await handle.result() == "AAPL 189.5 approved by ada"


    async def test_the_agent_calls_a_tool(temporal, fake_llm):
        fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
        fake_llm.reply("AAPL trades at 189.5.")
        question = Question("What does AAPL cost?")
        answer = await temporal.run(ResearchAgent.run, question, activities=[call_model, get_price])
        assert answer == "AAPL trades at 189.5."


    async def test_hostile_text_is_escaped(temporal):
        await temporal.run(
            PriceWorkflow.run, "<script>alert(1)</script>", activities=[fetch_price],
            id="xss-<img src=x onerror=alert(2)>",
        )
        assert False, "<b>not bold</b>"


    def test_without_temporal():
        pass
    """
)


@dataclass
class Session:
    report: Path
    output: str
    dom: Node
    screenshot: Path


def run_session(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``directory`` in a fresh interpreter, importing this worktree's plugin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(directory)])}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def write_project(directory: Path, tests: str) -> None:
    (directory / "pytest.ini").write_text(INI)
    shutil.copy(HERE / "report_workflows.py", directory)
    shutil.copy(ROOT / "docs/examples/research_agent.py", directory)
    shutil.copy(ROOT / "docs/examples/trip_saga.py", directory)
    (directory / "test_session.py").write_text(tests)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    directory = tmp_path_factory.mktemp("session")
    write_project(directory, SESSION_TESTS)
    done = run_session(directory, "-q", "--temporal-report", "out/report.html")
    assert done.returncode == 1, (
        done.stdout[-3000:] + done.stderr[-3000:]
    )  # one test fails on purpose
    report = directory / "out/report.html"
    profile = tmp_path_factory.mktemp("chromium")
    shot = screenshot(report, directory / "report.png", profile)
    print(f"\nscreenshot of the report: {shot}")  # look at it: pytest -s shows the path
    target = os.environ.get("PTA_REPORT_SCREENSHOT")  # docs/images/report.png is made this way
    if target:
        shutil.copy(shot, target)
    return Session(report, done.stdout, parse(dump_dom(report, profile)), shot)


def workflow(dom: Node, workflow_type: str, test: str | None = None) -> Node:
    """The section of the one workflow of that type (in that test's section, if named)."""
    if test is not None:
        dom = dom.one("details", "test", data_nodeid=f"test_session.py::{test}")
    return dom.one("section", "workflow", data_workflow_type=workflow_type)


def row(section: Node, name: str) -> Node:
    found = section.find_all("div", "row", data_name=name)
    assert found, (
        f"no row {name!r}; rows: {[n.attrs.get('data-name') for n in section.find_all('div', 'row')]}"
    )
    return found[0]


def test_the_run_names_the_report_it_wrote(session: Session) -> None:
    assert f"temporal report: {session.report} (6 tests, 6 workflows)" in session.output


def test_the_file_is_self_contained(session: Session) -> None:
    page = session.report.read_text()
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", page), (
        "the page loads something"
    )
    assert "@import" not in page and "url(" not in page
    assert page.count("<script>") == 1 and page.count("<style>") == 1  # both inline


def test_the_script_ran_in_the_browser(session: Session) -> None:
    body = session.dom.one("body")
    assert body.attrs.get("data-ready") == "yes"
    assert session.dom.one(id="shown-count").text == "6 of 6 tests shown"


def test_the_summary_counts_the_session(session: Session) -> None:
    stats = {n.attrs["data-stat"]: n.one("b").text for n in session.dom.find_all("div", "stat")}
    assert stats["tests"] == "6" and stats["passed"] == "5" and stats["failed"] == "1"
    assert stats["workflows"] == "6"
    assert stats["failed attempts"] == "2"  # the injected fault, the declined card


def test_each_test_lists_its_workflow_types(session: Session) -> None:
    tests = {n.attrs["data-nodeid"]: n for n in session.dom.find_all("details", "test")}
    types = {
        nodeid.split("::")[1]: [
            s.attrs["data-workflow-type"] for s in t.find_all("section", "workflow")
        ]
        for nodeid, t in tests.items()
    }
    assert types == {
        "test_the_saga_compensates": ["BookTrip"],
        "test_a_failed_attempt_is_retried": ["PriceWorkflow"],
        "test_timer_signal_child_and_mock": ["PatientWorkflow", "ChildStep"],
        "test_the_agent_calls_a_tool": ["ResearchAgent"],
        "test_hostile_text_is_escaped": ["PriceWorkflow"],
        "test_without_temporal": [],
    }
    assert tests["test_session.py::test_hostile_text_is_escaped"].attrs["data-outcome"] == "failed"


def test_the_saga_shows_its_activities_and_compensations(session: Session) -> None:
    saga = workflow(session.dom, "BookTrip")
    names = [r.attrs["data-name"] for r in saga.find_all("div", "call")]
    assert names == ["book_flight", "book_hotel", "charge_card", "cancel_hotel", "cancel_flight"]
    compensations = [
        r.attrs["data-name"] for r in saga.find_all("div", "call") if r.find_all(cls="comp")
    ]
    assert compensations == ["cancel_hotel", "cancel_flight"]
    charge = row(saga, "charge_card")
    assert charge.one(cls="attempt").attrs["data-outcome"] == "failed"
    assert "card declined [CardDeclined, non-retryable]" in charge.one("li", "reason").text


def test_a_failed_attempt_is_visible_with_its_reason_and_fault(session: Session) -> None:
    fetch = row(
        workflow(session.dom, "PriceWorkflow", "test_a_failed_attempt_is_retried"), "fetch_price"
    )
    attempts = [
        (a.attrs["data-attempt"], a.attrs["data-outcome"]) for a in fetch.find_all(cls="attempt")
    ]
    assert attempts == [("1", "failed"), ("2", "succeeded")]
    [reason] = fetch.find_all("li", "reason")
    assert reason.text.startswith("attempt 1 failed: exchange down")
    assert "injected retryable_error('fetch_price'" in reason.text
    assert fetch.find_all(cls="fault"), "the row is not labelled with its injected fault"


def test_timers_signals_children_and_mocks_are_drawn(session: Session) -> None:
    patient = workflow(session.dom, "PatientWorkflow")
    kinds = {r.attrs["data-name"]: r.attrs["data-kind"] for r in patient.find_all("div", "call")}
    assert kinds == {"timer 1": "timer", "ChildStep": "child", "notify": "activity"}
    assert row(patient, "notify").find_all(cls="mock")
    [signal] = patient.find_all(cls="mark")
    assert signal.attrs["data-kind"] == "signal" and signal.text == "signal approve"
    assert "2 h" in patient.one(cls="cut").text  # the two-hour sleep is drawn shorter, and says so
    child = workflow(session.dom, "ChildStep")
    assert "child" in child.classes and "child of" in child.one(cls="wf-sub").text


def test_model_calls_and_tool_calls_are_told_apart(session: Session) -> None:
    agent = workflow(session.dom, "ResearchAgent")
    roles = [
        (r.attrs["data-name"], r.attrs.get("data-role")) for r in agent.find_all("div", "call")
    ]
    assert roles == [("call_model", "model"), ("get_price", "tool"), ("call_model", "model")]


def test_every_workflow_shows_its_replay_verdict(session: Session) -> None:
    sections = session.dom.find_all("section", "workflow")
    verdicts = [s.one(cls="badge", title="replays against the current code").text for s in sections]
    assert verdicts == ["replay ✓"] * 6


def test_hostile_text_stays_text(session: Session) -> None:
    assert not session.dom.find_all("img") and len(session.dom.find_all("script")) == 1
    hostile = session.dom.one(
        "details", data_nodeid="test_session.py::test_hostile_text_is_escaped"
    )
    assert not hostile.find_all("b")
    assert hostile.one(cls="wfid").text == "xss-<img src=x onerror=alert(2)>"
    assert "AssertionError: <b>not bold</b>" in hostile.one("pre", "longrepr").text
    assert (
        '"<script>alert(1)</script>"' in row(hostile, "fetch_price").one(cls="label").attrs["title"]
    )


def test_the_screenshot_shows_the_chart(session: Session) -> None:
    width, height, colours = png_pixels(session.screenshot)
    assert (width, height) == (1400, 1000)
    assert (0xD6, 0x45, 0x45) in colours, "no failed-attempt red in the screenshot"
    assert (0x2F, 0x9E, 0x5F) in colours, "no completed-attempt green in the screenshot"
