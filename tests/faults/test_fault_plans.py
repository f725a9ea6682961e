"""Fault plans explored with hypothesis: one isolated harness per example, shrinking, reports."""

from __future__ import annotations

from textwrap import dedent

import pytest
from fault_workflows import StepsWorkflow, step
from hypothesis import given, settings
from pytester_support import SUPPORT, run_expecting

from pytest_temporal_agents import FaultPlan, TemporalHarness
from pytest_temporal_agents.strategies import fault_plans

SEEN: list[FaultPlan] = []


@settings(max_examples=8, database=None)
@given(plan=fault_plans(activities=[step], max_faults=2, kinds=["retryable_error", "worker_crash"]))
async def test_a_property_over_fault_plans_runs_each_example_in_its_own_harness(
    temporal: TemporalHarness, plan: FaultPlan
) -> None:
    async with temporal.isolated() as t:
        assert t.task_queue != temporal.task_queue
        t.inject(plan)
        assert await t.run(StepsWorkflow.run, 3, activities=[step]) == [0, 10, 20]
        assert list(t.injected_faults) == list(plan)  # nothing carried over from earlier examples
        succeeded = [a for a in t.attempts(step) if a.outcome == "succeeded"]
        assert sorted(a.args[0] for a in succeeded) == [0, 1, 2]
    SEEN.append(plan)


def test_the_property_saw_several_plans() -> None:
    assert len(set(SEEN)) > 1


TESTS = dedent(
    """
    from hypothesis import Phase, given, settings
    from inner_plan_workflows import StepsWorkflow, step
    from pytest_temporal_agents.strategies import fault_plans

    @settings(max_examples=30, database=None, phases=[Phase.generate, Phase.shrink])
    @given(plan=fault_plans(activities=[step], max_faults=2, kinds=["retryable_error", "non_retryable_error"]))
    async def test_steps_complete_whatever_the_plan(temporal, plan):
        async with temporal.isolated(replay_check=False) as t:
            t.inject(plan)
            assert await t.run(StepsWorkflow.run, 1, activities=[step]) == [0]

    @settings(max_examples=3, database=None)
    @given(plan=fault_plans(activities=[step], kinds=["retryable_error"], max_faults=1))
    async def test_survives_retryable_errors(temporal, plan):
        async with temporal.isolated() as t:
            t.inject(plan)
            assert await t.run(StepsWorkflow.run, 1, activities=[step]) == [0]
    """
)


def test_a_failing_property_reports_the_smallest_plan_with_its_timeline(project: pytest.Pytester) -> None:
    workflows = (SUPPORT / "fault_workflows.py").read_text()
    project.makepyfile(inner_plan_workflows=workflows, test_inner_plans=TESTS)
    result = run_expecting(project, "-W", "ignore::DeprecationWarning", passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            # "Falsifying example:" up to hypothesis 6.16x, "Failing test case:" later
            "*: test_steps_complete_whatever_the_plan(",
            "*plan=FaultPlan(non_retryable_error('step')),",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*temporal workflow *-stepsworkflow-1 (failed):",
            "*WorkflowExecutionFailed*injected non_retryable_error in step attempt 1*",
        ]
    )
    output = result.stdout.str()
    assert "function_scoped_fixture" not in output and "DeadlineExceeded" not in output
