"""pytest-cov counts the lines and branches of workflow code that runs in Temporal's sandbox.

Each test runs pytest nested, in a subprocess (coverage must start before the workflow
module is imported, as it does for a user), with ``--cov --cov-branch`` over a workflow with
two branches, and reads coverage's JSON report or data file. The workflow reports that it
ran in the sandbox, so the lines counted are the sandboxed run's. Expected line numbers are
read from the markers in the workflow's source, not written down twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from docs_support import ROOT

#: The workflow under measurement: one decision, two branches, each line marked.
BRANCHY = dedent(
    """
    from datetime import timedelta

    from temporalio import workflow


    @workflow.defn
    class Branchy:
        @workflow.run
        async def run(self, amount: int) -> str:
            if amount > 100:  # decision
                verdict = "large"  # large
                await workflow.sleep(timedelta(hours=1))  # large
            else:
                verdict = "small"  # small
            return f"{verdict}, sandboxed={workflow.unsafe.in_sandbox()}"  # both
    """
).lstrip()

#: The tests of the nested run: the small amount, and the large one (with its hour-long timer).
SMALL = dedent(
    """
    from branchy import Branchy

    async def test_small(temporal):
        assert await temporal.run(Branchy.run, 5) == "small, sandboxed=True"
    """
)
LARGE = dedent(
    """
    from branchy import Branchy

    async def test_large(temporal):
        assert await temporal.run(Branchy.run, 500) == "large, sandboxed=True"
    """
)
#: The small test on a worker with Temporal's own runner, as a hand-written test builds it.
SMALL_STOCK_SANDBOX = dedent(
    """
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
    from branchy import Branchy

    async def test_small(temporal):
        async with temporal.worker(workflows=[Branchy], workflow_runner=SandboxedWorkflowRunner()):
            result = await temporal.client.execute_workflow(
                Branchy.run, 5, id=temporal.new_workflow_id("branchy"), task_queue=temporal.task_queue
            )
        assert result == "small, sandboxed=True"
    """
)

#: ``patch = subprocess`` makes coverage measure every Python child process, the replay
#: helper included unless the plugin keeps it out (pytest_temporal_agents/replay/_coverage.py).
COVERAGE_RC = "[run]\npatch = subprocess\n"

PLUGINS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio", "-p", "pytest_cov.plugin")


def lines_marked(marker: str) -> list[int]:
    """The line numbers of BRANCHY that end with ``# marker``."""
    return [n for n, line in enumerate(BRANCHY.splitlines(), 1) if line.endswith(f"# {marker}")]


DECISION = lines_marked("decision")[0]
LARGE_LINES, SMALL_LINES, BOTH_LINES = (
    lines_marked("large"),
    lines_marked("small"),
    lines_marked("both"),
)


@pytest.fixture
def measured(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A nested project with the workflow, run in a subprocess with this checkout's plugin."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # exactly the plugins named
    project.makepyfile(branchy=BRANCHY)
    project.path.joinpath(".coveragerc").write_text(COVERAGE_RC)
    return project


def run_measured(project: pytest.Pytester, *args: str, passed: int) -> dict[str, Any]:
    """Runs the nested tests with ``--cov=branchy --cov-branch``; coverage's JSON for branchy.py."""
    result = project.runpytest_subprocess(
        *PLUGINS, "--cov=branchy", "--cov-branch", "--cov-report=json:coverage.json", *args
    )
    result.assert_outcomes(passed=passed)
    report: dict[str, Any] = json.loads((project.path / "coverage.json").read_text())["files"][
        "branchy.py"
    ]
    return report


def stray_data_files(project: pytest.Pytester) -> list[str]:
    """Coverage data files left beside the combined one (written after the report)."""
    return sorted(path.name for path in Path(project.path).glob(".coverage.*"))


@pytest.mark.parametrize(
    "test_file", [SMALL, SMALL_STOCK_SANDBOX], ids=["harness-runner", "stock-sandbox"]
)
def test_one_branch_counts_its_lines_and_a_partial_branch(
    measured: pytest.Pytester, test_file: str
) -> None:
    measured.makepyfile(test_small=test_file)

    run = run_measured(measured, passed=1)["functions"]["Branchy.run"]

    assert run["executed_lines"] == [DECISION, *SMALL_LINES, *BOTH_LINES]
    assert run["missing_lines"] == LARGE_LINES
    assert run["executed_branches"] == [[DECISION, SMALL_LINES[0]]]
    assert run["missing_branches"] == [[DECISION, LARGE_LINES[0]]]
    assert run["summary"]["num_partial_branches"] == 1
    assert run["summary"]["covered_branches"] == 1
    assert run["summary"]["num_branches"] == 2
    # The teardown replay ran in the helper interpreter, unmeasured: no data file after the report.
    assert stray_data_files(measured) == []


@pytest.mark.parametrize("xdist", [(), ("-p", "xdist", "-n", "2")], ids=["one-process", "xdist"])
def test_both_branches_cover_the_whole_run_method(
    measured: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    measured.makepyfile(test_small=SMALL, test_large=LARGE)

    report = run_measured(measured, *xdist, "--cov-context=test", passed=2)

    run = report["functions"]["Branchy.run"]
    assert run["missing_lines"] == []
    assert run["missing_branches"] == []
    assert run["summary"]["percent_covered"] == 100.0
    assert sorted(run["executed_branches"]) == [
        [DECISION, LARGE_LINES[0]],
        [DECISION, SMALL_LINES[0]],
    ]
    assert report["summary"]["percent_covered"] == 100.0  # the module's import-time lines too
    assert stray_data_files(measured) == []
    assert_each_branch_is_credited_to_its_test(measured)


def assert_each_branch_is_credited_to_its_test(project: pytest.Pytester) -> None:
    """With ``--cov-context=test``, a workflow line run in a worker thread names its test."""
    import coverage

    data = coverage.CoverageData(str(project.path / ".coverage"))
    data.read()
    contexts = data.contexts_by_lineno(str(project.path / "branchy.py"))
    tests = {line: {c.split("|")[0] for c in contexts[line] if c} for line in contexts}
    assert all(tests[line] == {"test_large.py::test_large"} for line in LARGE_LINES), tests
    assert all(tests[line] == {"test_small.py::test_small"} for line in SMALL_LINES), tests
    assert all(
        tests[line] == {"test_large.py::test_large", "test_small.py::test_small"}
        for line in BOTH_LINES
    )
