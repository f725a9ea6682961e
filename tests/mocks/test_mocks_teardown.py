"""Mock expectations and exhausted sequences fail the test at teardown (nested pytest runs)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from pytester_support import SUPPORT, run_expecting

INNER = dedent(
    """
    from datetime import timedelta

    import pytest
    from temporalio.client import WorkflowFailureError

    from mocking_workflows import Quote, ResearchAgent, TradeWorkflow, audit, fetch_quote, place_order

    ALL = [fetch_quote, place_order, audit]


    async def test_unmet_expectations(temporal):
        temporal.mock_activity(fetch_quote, returns=Quote("A", 1.0)).expect(times=2)
        temporal.mock_activity(place_order, returns="r").expect(at_least=1)
        temporal.mock_activity(audit).expect(times=0)  # Go's .Never()
        temporal.mock_child_workflow(ResearchAgent).expect(at_least=1)
        await temporal.run(TradeWorkflow.run, "A", activities=ALL)


    async def test_met_expectations(temporal):
        temporal.mock_activity(fetch_quote, returns=Quote("A", 500.0)).expect(times=1)
        temporal.mock_activity(place_order).expect(times=0)
        await temporal.run(TradeWorkflow.run, "A", activities=ALL)


    async def test_exhausted_sequence(temporal):
        temporal.mock_activity(fetch_quote, sequence=[RuntimeError("blip")])
        with pytest.raises(WorkflowFailureError) as failure:
            await temporal.run(TradeWorkflow.run, "A", activities=ALL)
        # The second attempt finds the sequence empty: a non-retryable failure.
        assert failure.value.cause.cause.type == "MockSequenceExhausted"
        assert failure.value.cause.cause.non_retryable
    """
)


def test_expectations_and_sequences_are_checked_at_teardown(project: pytest.Pytester) -> None:
    project.syspathinsert(str(SUPPORT))
    project.makepyfile(test_inner_expectations=INNER)
    result = run_expecting(project, passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unmet_expectations*",
            (
                "- activity mock 'fetch_quote': expected exactly 2 calls, got 1 call: "
                "1. fetch_quote('A') attempt 1, workflow '*tradeworkflow-1'"
            ),
            "- activity mock 'audit': expected exactly 0 calls, got 1 call: 1. audit('r') attempt 1, workflow '*'",
            "- workflow mock 'ResearchAgent': expected at least 1 call, got none",
            "*ERROR at teardown of test_exhausted_sequence*",
            (
                "- activity mock 'fetch_quote' was called 2 times, but its sequence= has only 1 results; "
                "the call from workflow '*' failed (add results or expect fewer calls)"
            ),
        ]
    )
    assert "place_order': expected" not in result.stdout.str()
