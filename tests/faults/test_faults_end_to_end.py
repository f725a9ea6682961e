"""Every fault kind in a nested pytest run, as a user's test file would use it."""

from __future__ import annotations

import asyncio
from textwrap import dedent
from types import SimpleNamespace

import pytest
from pytester_support import SUPPORT, run_expecting

from pytest_temporal_agents import HarnessUsageError
from pytest_temporal_agents.faults import worker_crash
from pytest_temporal_agents.faults._crash import crash_and_restart

WORKFLOWS = (SUPPORT / "fault_workflows.py").read_text()

TESTS = dedent(
    """
    import pytest
    from temporalio.client import WorkflowFailureError
    from kinds_workflows import (
        CompensatingWorkflow, LocalQuoteWorkflow, QuoteRequest, QuoteWorkflow, StepsWorkflow, fetch_quote, step,
    )
    from pytest_temporal_agents.faults import (
        EVERY_ATTEMPT, cancellation, error_of_type, heartbeat_timeout, non_retryable_error,
        retryable_error, schedule_to_close_timeout, start_to_close_timeout, worker_crash,
    )

    AAPL = QuoteRequest("AAPL")

    @pytest.mark.parametrize(("fault", "seen"), [
        (retryable_error(fetch_quote, attempts=EVERY_ATTEMPT, type="Down"),
         "ApplicationError Down non_retryable=False: injected retryable_error in fetch_quote attempt 3"),
        (non_retryable_error(fetch_quote, type="Halted"),
         "ApplicationError Halted non_retryable=True: injected non_retryable_error in fetch_quote attempt 1"),
        (error_of_type(fetch_quote, "InsufficientFunds"),
         "ApplicationError InsufficientFunds non_retryable=False: injected error_of_type in fetch_quote attempt 1"),
        (start_to_close_timeout(fetch_quote, attempts=EVERY_ATTEMPT, shortened_to=0.05), "TimeoutError START_TO_CLOSE"),
        (heartbeat_timeout(fetch_quote, attempts=EVERY_ATTEMPT, shortened_to=0.05), "TimeoutError HEARTBEAT"),
        (schedule_to_close_timeout(fetch_quote, shortened_to=0.1), "TimeoutError SCHEDULE_TO_CLOSE"),
    ], ids=lambda value: getattr(value, "kind", ""))
    async def test_what_the_workflow_sees(temporal, fault, seen):
        temporal.inject(fault)
        assert await temporal.run(QuoteWorkflow.run, AAPL, activities=[fetch_quote]) == seen

    async def test_cancellation(temporal):
        temporal.inject(cancellation(fetch_quote))
        result = await temporal.run(CompensatingWorkflow.run, AAPL, activities=[fetch_quote, step])
        assert result == "CancelledError, compensated 70"

    async def test_worker_crash(temporal):
        temporal.inject(worker_crash(after=step))
        assert await temporal.run(StepsWorkflow.run, 2, activities=[step]) == [0, 10]

    async def test_a_crash_cannot_follow_a_local_activity(temporal):
        temporal.inject(worker_crash(after=fetch_quote))
        assert await temporal.run(LocalQuoteWorkflow.run, AAPL, activities=[fetch_quote]) == "price 104.0"
    """
)


def test_every_fault_kind_in_a_users_test_file(project: pytest.Pytester) -> None:
    project.makepyfile(kinds_workflows=WORKFLOWS, test_kinds=TESTS)
    result = run_expecting(project, "-v", passed=9, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_crash_cannot_follow_a_local_activity*",
            "- worker_crash(after='fetch_quote'): a crash cannot follow a local activity (fetch_quote)",
        ]
    )


def test_a_crash_on_a_queue_no_worker_polls_says_so() -> None:
    ctx = SimpleNamespace(polling=lambda task_queue: [])  # a test context with no worker

    async def report(client: object) -> None: ...

    with pytest.raises(HarnessUsageError) as caught:
        asyncio.run(crash_and_restart(ctx, "q", worker_crash(after="a"), 1, report))  # type: ignore[arg-type]
    assert str(caught.value).splitlines() == [
        "worker_crash(after='a') fired on task queue 'q', but no worker of this test polls it any more.",
        "Is the activity running on a worker the harness did not build?",
    ]
