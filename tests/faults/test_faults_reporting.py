"""What a user sees when faults cannot fire or attempts differ: warnings, failures, notes."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pytester_support import SUPPORT, run_expecting

WORKFLOWS = (SUPPORT / "fault_workflows.py").read_text()

TESTS = dedent(
    """
    import pytest
    from hypothesis import given, settings, strategies as st
    from inner_fault_workflows import QuoteRequest, QuoteWorkflow, fetch_quote, step
    from pytest_temporal_agents.faults import FaultPlan, non_retryable_error, retryable_error

    AAPL = QuoteRequest("AAPL")

    async def test_misspelt_activity(temporal):
        temporal.inject(retryable_error("fetch_qoute"))
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"

    async def test_registered_but_never_called(temporal):
        temporal.inject(retryable_error(step))
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote, step]) == "price 104.0"

    async def test_a_drawn_plan_may_miss_quietly(temporal):
        temporal.inject(FaultPlan(retryable_error(step), drawn=True))
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote, step]) == "price 104.0"

    async def test_attempt_beyond_the_policy(temporal):
        temporal.inject(retryable_error(fetch_quote, attempts=[2, 4]))
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"

    async def test_predicate_that_raises(temporal):
        temporal.inject(retryable_error(fetch_quote, where=lambda request: request.nope))
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"

    async def test_attempts_differ(temporal):
        temporal.inject(retryable_error(fetch_quote, type="Blip"))
        await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
        temporal.assert_attempts(fetch_quote, failed=[1, 2], succeeded=3)

    @settings(max_examples=2)
    @given(st.integers())
    async def test_inject_on_the_tests_own_harness_in_an_example(temporal, n):
        temporal.inject(retryable_error(fetch_quote))

    async def test_failing_scope_shows_its_workflows(temporal):
        async with temporal.isolated() as t:
            t.inject(non_retryable_error(fetch_quote, type="Halted"))
            assert await t.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"

    async def test_scope_checks_fail_at_its_end(temporal):
        async with temporal.isolated() as t:
            t.inject(retryable_error(fetch_quote, where=lambda request: 1 / 0))
            await t.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote])
    """
)


#: What the nested run must show, by what it shows it for (fnmatch patterns, ``[`` literal:
#: messages quote lists like attempts=[1, 2]).
MESSAGES = {
    "a fault for an activity no worker registers is a warning": [
        (
            "*FaultWarning: retryable_error('fetch_qoute') never fired: no worker of this test registers an "
            "activity named 'fetch_qoute'. Did you mean 'fetch_quote'?"
        ),
        "  Registered activities: fetch_quote. Fix the name, or register the activity (activities=[...]).",
    ],
    "a fault for an activity no workflow calls is a warning": [
        "*FaultWarning: retryable_error('step') never fired: no workflow of this test called 'step' "
        "(a worker registers it).",
        "  Check that the workflow takes the path that calls it, or drop the fault.",
    ],
    "an attempt beyond the retry policy is a warning": [
        (
            "*FaultWarning: retryable_error('fetch_quote', attempts=[2, 4]) names attempt 4, but 'fetch_quote' "
            "is scheduled with a retry policy of at most 3 attempt(s), so that attempt never runs."
        ),
        "  Select attempts 1 to 3, or raise the retry policy's maximum_attempts.",
    ],
    "a predicate that raises fails the test at teardown": [
        "*ERROR at teardown of test_predicate_that_raises*",
        (
            "- retryable_error('fetch_quote', where=<lambda>): its where= predicate raised "
            "AttributeError(\"'QuoteRequest' object has no attribute 'nope'\") for the arguments "
            "(QuoteRequest(symbol='AAPL', exchange='NYSE'))"
        ),
    ],
    "attempts that differ are listed": [
        "*AssertionError: Attempts of 'fetch_quote' (workflow '*', activity id 1) are not what the test expects.",
        "*expected: failed [1, 2], succeeded 3",
        "*actual:   failed [1], succeeded 2",
        (
            "*- attempt 1: failed: injected retryable_error in fetch_quote attempt 1 [Blip] "
            "(injected retryable_error('fetch_quote', type='Blip'))"
        ),
        "*- attempt 2: succeeded",
    ],
    "injecting into the outer harness inside an example says to isolate": [
        (
            "*pytest_temporal_agents._errors.HarnessUsageError: temporal.inject() was called on the test's own "
            "`temporal` inside a hypothesis example: its"
        ),
        "*faults, mocks and workers would carry over into every later example.",
        "*Open a fresh harness per example instead:",
        "*async with temporal.isolated() as t:",
    ],
    "a failing scope carries the timelines of its workflows": [
        "*+ ApplicationError Halted non_retryable=True: injected non_retryable_error in fetch_quote attempt 1",
        "*temporal workflow *-quoteworkflow-1 (completed):",
        "*ActivityTaskFailed*fetch_quote: injected non_retryable_error in fetch_quote attempt 1 [Halted, non-retryable]",
        "*Attempts (the worker's record; the events above keep only each activity's last attempt):",
    ],
    "a scope runs the teardown checks at its end": [
        (
            "*pytest_temporal_agents.harness._isolation.IsolatedChecksFailed: - retryable_error('fetch_quote', "
            "where=<lambda>): its where= predicate raised ZeroDivisionError('division by zero') for the arguments *"
        ),
    ],
}


def test_warnings_failures_and_notes(project: pytest.Pytester) -> None:
    """One nested run (a few seconds) checked for every message it must show."""
    project.makepyfile(inner_fault_workflows=WORKFLOWS, test_inner_faults=TESTS)
    # (hypothesis imports libcst to explain a failing example, which warns of deprecations)
    result = run_expecting(project, "-W", "ignore::DeprecationWarning", passed=5, failed=4, errors=1, warnings=3)
    for patterns in MESSAGES.values():
        result.stdout.fnmatch_lines([p.replace("[", "[[]") for p in patterns])
    # A drawn plan may miss quietly: no warning names its test.
    assert "test_a_drawn_plan_may_miss_quietly" not in result.stdout.str().split("warnings summary")[-1]
    # The harness suppresses hypothesis's health check on function-scoped fixtures: its own
    # message about isolating is the one a user reads.
    assert "function_scoped_fixture" not in result.stdout.str()
