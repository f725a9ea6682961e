"""What the Java test server does with an asynchronous (workflow-run) Nexus operation.

Measured with temporal-test-server 1.40 and temporalio 1.35 (docs/how-to/nexus.md): an
operation whose handler workflow finishes without timers completes; while one is open, time
does not skip (the handler workflow's timer waits in real time, so the caller's timeout runs
out first), and afterwards the server often has a time-skipping lock left behind (the plugin's
clock probe then warns and gives the next test a fresh server; whether the lock stays depends
on timing). The scenario runs in a nested session, with a server of its own, so that a lock
stays there.
"""

from __future__ import annotations

import pytest
from pytester_support import SUPPORT

SCENARIO = """
import contextlib
import time

from nexus_async_workflows import ComplianceHandler, ComplianceReview, NeedsReview, Review
from temporalio.service import RPCError


async def _run(temporal, endpoint_name, hours):
    endpoint = await temporal.env.create_nexus_endpoint(endpoint_name, temporal.task_queue)
    review = Review(temporal.new_workflow_id("review"), hours)
    try:
        async with temporal.worker(
            workflows=[NeedsReview, ComplianceReview], nexus_service_handlers=[ComplianceHandler()]
        ):
            began = time.monotonic()
            result = await temporal.result(await temporal.start(NeedsReview.run, args=[endpoint_name, review]))
            took = time.monotonic() - began
            with contextlib.suppress(RPCError):  # the handler's workflow is not the test's
                await temporal.client.get_workflow_handle(review.workflow_id).terminate()
    finally:
        await temporal.env.delete_nexus_endpoint(endpoint)
    return result, took


async def test_quick(temporal):
    assert await _run(temporal, "compliance-quick", hours=0) == ("reviewed after 0h", pytest.approx(0, abs=2))


async def test_slow(temporal):
    result, took = await _run(temporal, "compliance-slow", hours=1)
    assert result == "failed: operation timed out"  # the 3 s timeout, in real time
    assert took >= 2.5


async def test_after(temporal):
    pass
"""


def test_time_does_not_skip_while_an_async_operation_is_open(project: pytest.Pytester) -> None:
    project.syspathinsert(str(SUPPORT))
    project.makepyfile(test_async_nexus="import pytest\n" + SCENARIO)
    result = project.runpytest("-p", "no:randomly")
    # The slow operation's 1 h timer waited in real time (test_slow asserts it), and the test
    # after it still ran: on a fresh server when the lock stayed, and then the probe said so.
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed", 0)) == (3, 0), result.stdout.str()
    if outcomes.get("warnings"):
        result.stdout.fnmatch_lines([
            ("*TemporalAgentsWarning: pytest-temporal-agents: after *test_slow, the time-skipping server no "
            "longer skips time*The next test gets a fresh server."),
        ])
