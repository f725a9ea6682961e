"""One deliberately nondeterministic workflow per cause, each failing the test that ran it.

How each cause really shows up (temporalio 1.35, default sandbox):

- wall-clock time, randomness and I/O *inside workflow code* are stopped by the sandbox
  (RestrictedWorkflowAccessError) on the first run: the workflow fails at once (the replay
  check makes the worker fail the workflow rather than retry the task forever) and the
  teardown names the forbidden call and its line;
- the same calls in a helper module imported with ``imports_passed_through()`` or inside
  ``sandbox_unrestricted()`` escape the sandbox: they show up only on replay, as a
  nondeterminism error (a branch or an id that differs), named with the helper's line;
- iteration over a set of strings replays identically in the same process (same hash
  seed): only the replay in a fresh interpreter with another PYTHONHASHSEED catches it,
  either as a nondeterminism error (child ids) or, when only the arguments of the same
  activity change order, as input drift, which Temporal itself never reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from textwrap import dedent

import pytest
from pytester_support import INI

HELPERS = dedent(
    """
    import json
    import time
    from pathlib import Path


    def order_ref() -> str:
        return f"order-{time.time_ns()}"


    def risk_limit(path: str) -> float:
        return json.loads(Path(path).read_text())["limit"]
    """
)

CAUSES = dedent(
    """
    import datetime
    import json
    import random
    from datetime import timedelta

    from temporalio import activity, workflow

    with workflow.unsafe.imports_passed_through():
        import nd_helpers

    T = timedelta(seconds=10)
    # Under PYTHONHASHSEED 0 and 1, set(SYMBOLS) starts with TSLA and with AAPL.
    SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]


    @activity.defn
    async def buy(ref: str) -> str:
        return ref


    @activity.defn
    async def hold(ref: str) -> str:
        return ref


    async def trade(buying: bool) -> str:
        return await workflow.execute_activity(buy if buying else hold, "x", start_to_close_timeout=T)


    @workflow.defn
    class ClockInWorkflow:
        @workflow.run
        async def run(self) -> str:
            stamp = datetime.datetime.now().isoformat()
            return await workflow.execute_activity(buy, stamp, start_to_close_timeout=T)


    @workflow.defn
    class RandomInWorkflow:
        @workflow.run
        async def run(self) -> str:
            return await trade(random.random() < 0.5)


    @workflow.defn
    class FileInWorkflow:
        @workflow.run
        async def run(self, path: str) -> str:
            with open(path) as config:
                limit = json.load(config)["limit"]
            return await trade(limit > 0.5)


    @workflow.defn
    class ClockInHelper:
        @workflow.run
        async def run(self) -> str:
            ref = nd_helpers.order_ref()
            return await workflow.execute_activity(buy, "x", activity_id=ref, start_to_close_timeout=T)


    @workflow.defn
    class RandomUnrestricted:
        @workflow.run
        async def run(self) -> str:
            with workflow.unsafe.sandbox_unrestricted():
                bid = f"bid-{random.getrandbits(64)}"
            return await workflow.execute_activity(buy, "x", activity_id=bid, start_to_close_timeout=T)


    @workflow.defn
    class ConfigInHelper:
        @workflow.run
        async def run(self, path: str) -> str:
            return await trade(nd_helpers.risk_limit(path) > 0.5)


    @workflow.defn
    class Analyze:
        @workflow.run
        async def run(self, symbol: str) -> str:
            return symbol


    @workflow.defn
    class ChildPerSymbol:
        @workflow.run
        async def run(self, symbols: list[str]) -> None:
            for symbol in set(symbols):
                await workflow.execute_child_workflow(
                    Analyze.run, symbol, id=f"{workflow.info().workflow_id}-{symbol}"
                )


    @workflow.defn
    class QuotePerSymbol:
        @workflow.run
        async def run(self, symbols: list[str]) -> dict[str, str]:
            return {s: await workflow.execute_activity(buy, s, start_to_close_timeout=T) for s in set(symbols)}
    """
)

TESTS = dedent(
    """
    from nd_workflows import *


    async def test_clock_in_workflow(temporal):
        await temporal.run(ClockInWorkflow.run, activities=[buy])


    async def test_random_in_workflow(temporal):
        await temporal.run(RandomInWorkflow.run, activities=[buy, hold])


    async def test_file_in_workflow(temporal, tmp_path):
        (tmp_path / "risk.json").write_text('{"limit": 0.9}')
        await temporal.run(FileInWorkflow.run, str(tmp_path / "risk.json"), activities=[buy, hold])


    async def test_clock_in_helper(temporal):
        await temporal.run(ClockInHelper.run, activities=[buy])


    async def test_random_unrestricted(temporal):
        await temporal.run(RandomUnrestricted.run, activities=[buy])


    async def test_config_in_helper(temporal, tmp_path):
        config = tmp_path / "risk.json"
        config.write_text('{"limit": 0.9}')
        assert await temporal.run(ConfigInHelper.run, str(config), activities=[buy, hold]) == "x"
        config.write_text('{"limit": 0.1}')  # a deploy changes the config file


    async def test_children_per_set_member(temporal):
        await temporal.run(ChildPerSymbol.run, SYMBOLS, workflows=[ChildPerSymbol, Analyze])


    async def test_activities_per_set_member(temporal):
        prices = await temporal.run(QuotePerSymbol.run, SYMBOLS, activities=[buy])
        assert prices == {s: s for s in SYMBOLS}  # right on the first run, wrong after a restart
    """
)


@pytest.fixture(scope="module")
def causes_run(tmp_path_factory: pytest.TempPathFactory) -> pytest.RunResult:
    """One inner run for every cause: one server start, not eight.

    A subprocess (pytester is function-scoped), with a fixed PYTHONHASHSEED: the helper
    interpreter then gets seed 1, and the set orders of the two seeds are known to differ.
    """
    directory = tmp_path_factory.mktemp("causes")
    (directory / "pytest.ini").write_text(INI)
    (directory / "nd_helpers.py").write_text(HELPERS)
    (directory / "nd_workflows.py").write_text(CAUSES)
    (directory / "test_causes.py").write_text(TESTS)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=directory,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        timeout=300,
        check=False,
    )
    return pytest.RunResult(done.returncode, done.stdout.splitlines(), done.stderr.splitlines(), time.monotonic() - started)


def _line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), start=1) if text in line)


def _section(result: pytest.RunResult, test: str) -> str:
    """The teardown error printed for one inner test."""
    text = result.stdout.str()
    start = text.index(f"ERROR at teardown of {test} ")
    end = text.find("ERROR at teardown of", start + 1)
    failures = text.find("= FAILURES =", start)
    stops = [i for i in (end, failures, text.find("short test summary", start)) if i != -1]
    return text[start : min(stops)]


def test_every_cause_fails_the_test_that_ran_it(causes_run: pytest.RunResult) -> None:
    # Sandbox-caught causes fail the test body (at once) and the teardown; escaped ones the teardown.
    causes_run.assert_outcomes(failed=3, passed=5, errors=8)


@pytest.mark.parametrize(
    ("test", "call", "line"),
    [
        ("test_clock_in_workflow", "datetime.datetime.now", "stamp = datetime.datetime.now().isoformat()"),
        ("test_random_in_workflow", "random.random", "return await trade(random.random() < 0.5)"),
        ("test_file_in_workflow", "__builtins__.open", "with open(path) as config:"),
    ],
)
def test_the_sandbox_catches_direct_calls_and_the_report_names_the_line(
    causes_run: pytest.RunResult, test: str, call: str, line: str
) -> None:
    section = _section(causes_run, test)
    assert "is not deterministic: the sandbox stopped it calling " + call in section
    assert "nd_workflows.py:" in section
    # The test itself failed (the workflow failed at once): the teardown keeps to one line.
    assert len([x for x in section.splitlines()[1:] if x.startswith("- ")]) == 1
    assert "Timeline" not in section
    causes_run.stdout.fnmatch_lines([f"FAILED test_causes.py::{test} - temporalio.client*"])
    assert f"nd_workflows.py:{_line_of(CAUSES, line)}" in section


@pytest.mark.parametrize(
    ("test", "says"),
    [
        pytest.param(
            "test_clock_in_helper",
            [
                "does not replay: nondeterministic at event 5 (ActivityTaskScheduled buy(\"x\") id=order-",
                "The current code instead scheduled activity buy(\"x\") id=order-",
                f"- wall-clock time at nd_helpers.py:{_line_of(HELPERS, 'time.time_ns()')}: return f\"order-",
                "fix: use workflow.now()",
                "id built from time, randomness or I/O",
            ],
            id="a-clock-read-in-a-passed-through-helper",
        ),
        pytest.param(
            "test_random_unrestricted",
            [
                "nondeterministic at event 5",
                "- sandbox bypass at nd_workflows.py:",
                "- randomness at nd_workflows.py:",
                "random.getrandbits(64)",
                "fix: use workflow.random()",
            ],
            id="randomness-in-sandbox-unrestricted",
        ),
        pytest.param(
            "test_config_in_helper",
            [
                "At event 5 the history has:\n      ActivityTaskScheduled  buy(\"x\") id=1",
                "The current code instead scheduled activity hold(\"x\")",
                f"- I/O at nd_helpers.py:{_line_of(HELPERS, 'read_text')}: return json.loads(",
                "fix: move it into an activity",
            ],
            id="io-in-a-helper-whose-answer-changes",
        ),
    ],
)
def test_a_cause_the_sandbox_lets_through_is_found_on_replay(
    causes_run: pytest.RunResult, test: str, says: list[str]
) -> None:
    section = _section(causes_run, test)
    missing = [text for text in says if text not in section]
    assert not missing, f"the report of {test} lacks {missing}:\n{section}"


def test_set_order_is_found_by_the_replay_in_a_fresh_interpreter(causes_run: pytest.RunResult) -> None:
    section = _section(causes_run, "test_children_per_set_member")
    assert "(ChildPerSymbol) does not replay: nondeterministic at event 5 (StartChildWorkflowExecutionInitiated Analyze" in section
    causes = section.split("Likely causes:")[1]
    assert causes.lstrip().startswith("- it replays in this process but not in a fresh interpreter")
    assert "- iteration over a set at nd_workflows.py:" in causes and "for symbol in set(symbols):" in causes
    assert "workflow.patched(" not in causes  # not a code change: the same code replays here


def test_set_order_that_only_permutes_inputs_is_found_as_input_drift(causes_run: pytest.RunResult) -> None:
    section = _section(causes_run, "test_activities_per_set_member")
    assert "does not replay: nondeterministic input at event 5 (ActivityTaskScheduled buy(" in section
    assert "The current code instead scheduled it with other arguments: activity buy(" in section
    assert "Temporal does not compare inputs on replay" in section
    assert "- iteration over a set at nd_workflows.py:" in section
