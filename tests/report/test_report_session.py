"""``--temporal-report`` in nested pytest runs: xdist's one merged file, the ini option,
paths that cannot be written (a warning, never a failed run), the replay verdicts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from textwrap import dedent

import pytest
import report_workflows  # noqa: F401 - imported here, kept by pytester's in-process runs
from pytester_support import run_expecting
from report_browser import Node, parse

import pytest_temporal_agents.faults
import pytest_temporal_agents.report  # noqa: F401
from pytest_temporal_agents import TemporalHarness  # noqa: F401 - temporalio, loaded once

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

PRICE_TESTS = dedent(
    """
    import os
    import pytest
    from report_workflows import PriceWorkflow, fetch_price

    @pytest.mark.parametrize("n", range(6))
    async def test_n(temporal, n):
        assert await temporal.run(PriceWorkflow.run, f"S{n}", activities=[fetch_price]) == 1.0
        with open(f"worker-{os.environ.get('PYTEST_XDIST_WORKER', 'none')}.txt", "a") as out:
            out.write(f"{n}\\n")
    """
)

ONE_TEST = dedent(
    """
    import pytest
    from report_workflows import PriceWorkflow, fetch_price

    async def test_price(temporal):
        assert await temporal.run(PriceWorkflow.run, "AAPL", activities=[fetch_price]) == 189.5
    """
)


@pytest.fixture
def project(project: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(HERE / "report_workflows.py", project.path)
    return project


def read(path: Path) -> Node:
    assert path.is_file(), f"no report at {path}"
    return parse(path.read_text())


def test_xdist_workers_send_their_workflows_into_one_report(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(project.path)]))
    project.makepyfile(test_many=PRICE_TESTS)
    result = project.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--temporal-report", "report.html"
    )
    result.assert_outcomes(passed=6)
    assert sorted(p.name for p in project.path.glob("worker-*.txt")) == [
        "worker-gw0.txt",
        "worker-gw1.txt",
    ]
    dom = read(project.path / "report.html")
    tests = dom.find_all("details", "test")
    assert sorted(t.attrs["data-nodeid"] for t in tests) == [
        f"test_many.py::test_n[{n}]" for n in range(6)
    ]
    for test in tests:
        [section] = test.find_all("section", "workflow")
        assert section.attrs["data-workflow-type"] == "PriceWorkflow"
        assert [r.attrs["data-name"] for r in section.find_all("div", "call")] == ["fetch_price"]
    assert not list(project.path.glob("*.partial")) and not list(project.path.glob(".*.partial"))
    result.stdout.fnmatch_lines(
        [f"temporal report: {project.path / 'report.html'} (6 tests, 6 workflows)"]
    )


def test_the_ini_option_is_relative_to_the_ini_file(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini(
        dedent(
            """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = function
            temporal_report = reports/session.html
            """
        )
    )
    project.makepyfile(test_one=ONE_TEST)
    sub = project.mkdir("elsewhere")
    monkeypatch.chdir(sub)
    run_expecting(project, str(project.path), "-p", "no:randomly", passed=1)
    dom = read(project.path / "reports/session.html")  # the missing directory was made
    assert dom.one("section", "workflow").attrs["data-workflow-type"] == "PriceWorkflow"


def test_a_report_path_that_is_a_directory_warns_and_the_run_passes(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_one=ONE_TEST)
    project.mkdir("taken")
    # (-p no:benchmark: pytest-benchmark, where installed, warns at configure under xdist.)
    result = run_expecting(project, "--temporal-report", "taken", "-W", "error", "-p", "no:benchmark", passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"pytest-temporal-agents: could not write the HTML report to '{project.path / 'taken'}'*",
            "*Give --temporal-report (or the temporal_report ini*",
        ]
    )
    assert list((project.path / "taken").iterdir()) == []


def test_an_unwritable_path_keeps_the_tests_own_exit_code(project: pytest.Pytester) -> None:
    project.makepyfile(test_two=ONE_TEST + "\n\ndef test_fails():\n    assert False\n")
    (project.path / "a-file").write_text("not a directory")
    result = run_expecting(project, "--temporal-report", "a-file/report.html", passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*could not write the HTML report to*a-file/report.html*"])
    result.stdout.fnmatch_lines(["*TemporalAgentsWarning*"])  # also in the warnings summary


def test_without_the_option_nothing_is_written(project: pytest.Pytester) -> None:
    project.makepyfile(test_one=ONE_TEST)
    result = run_expecting(project, passed=1)
    assert "temporal report" not in result.stdout.str()
    assert not list(project.path.rglob("*.html"))


def test_the_replay_verdict_says_when_the_check_was_off(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_off=dedent(
            """
            import pytest
            from report_workflows import PriceWorkflow, fetch_price

            @pytest.mark.temporal(replay_check=False)
            async def test_unchecked(temporal):
                await temporal.run(PriceWorkflow.run, "AAPL", activities=[fetch_price])

            async def test_checked(temporal):
                await temporal.run(PriceWorkflow.run, "AAPL", activities=[fetch_price])
            """
        )
    )
    run_expecting(project, "--temporal-report", "r.html", passed=2)
    dom = read(project.path / "r.html")
    verdicts = {
        t.attrs["data-nodeid"].split("::")[1]: [
            b.text for b in t.find_all(cls="badge") if "verdict" in " ".join(b.classes)
        ]
        for t in dom.find_all("details", "test")
    }
    assert verdicts == {"test_unchecked": ["replay off"], "test_checked": ["replay ✓"]}


def test_a_workflow_that_fails_shows_its_failure(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_failing=dedent(
            """
            import pytest
            from temporalio.client import WorkflowFailureError
            from report_workflows import PriceWorkflow, fetch_price
            from pytest_temporal_agents.faults import non_retryable_error

            async def test_it_fails(temporal):
                temporal.inject(non_retryable_error(fetch_price, message="market closed"))
                with pytest.raises(WorkflowFailureError):
                    await temporal.run(PriceWorkflow.run, "AAPL", activities=[fetch_price])
            """
        )
    )
    run_expecting(project, "--temporal-report", "r.html", passed=1)
    section = read(project.path / "r.html").one("section", "workflow")
    assert section.attrs["data-status"] == "failed"
    assert "market closed" in section.one(cls="wf-failure").text
    [attempt] = section.find_all(cls="attempt")
    assert attempt.attrs["data-outcome"] == "failed"


def test_a_session_without_workflows_writes_its_report_without_temporalio(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(project.path)]))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    project.makepyfile(
        test_plain=dedent(
            """
            import sys

            def test_plain():
                pass

            def test_nothing_imported_temporalio():
                assert "temporalio" not in sys.modules
            """
        )
    )
    plugins = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")
    result = project.runpytest_subprocess(*plugins, "--temporal-report", "plain.html")
    result.assert_outcomes(passed=2)
    dom = read(project.path / "plain.html")
    assert [t.attrs["data-outcome"] for t in dom.find_all("details", "test")] == [
        "passed",
        "passed",
    ]
    assert not dom.find_all("section", "workflow")
