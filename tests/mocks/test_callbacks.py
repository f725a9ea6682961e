"""signal_after / query_after: delivered at a point of workflow time under time skipping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mocking_workflows import ApprovalGate, Order
from pytester_support import SUPPORT, run_expecting

from pytest_temporal_agents import DelayedCall, DelayedCallError, HarnessUsageError, TemporalHarness


async def test_a_delayed_signal_lands_at_that_workflow_time(temporal: TemporalHarness) -> None:
    handle = await temporal.start(ApprovalGate.run)
    call = await temporal.signal_after(
        handle, ApprovalGate.approve, Order("AAPL", 5), "risk desk", after=timedelta(hours=5)
    )
    assert isinstance(call, DelayedCall) and call.kind == "signal" and call.name == "approve"
    result = await handle.result()
    # +5h of workflow time (plus the milliseconds between starting the two workflows).
    assert result == "approved by risk desk for 5 AAPL at +5.00h"
    assert await call.result() is None
    [signal] = (await temporal.history(handle)).signals()
    assert signal.name == "approve"


async def test_delayed_queries_see_the_state_at_their_time(temporal: TemporalHarness) -> None:
    handle = await temporal.start(ApprovalGate.run)
    early = await temporal.query_after(handle, ApprovalGate.status, after=timedelta(minutes=30))
    middle = await temporal.query_after(handle, "stage_of", "now: ", after=timedelta(hours=2), result_type=str)
    late = await temporal.query_after(handle, ApprovalGate.status, after=timedelta(hours=4))
    await temporal.signal_after(handle, "approve", Order("X"), "ops", after=timedelta(hours=6))
    assert (await handle.result()).startswith("approved by ops")
    assert await early.result() == "received"
    assert await middle.result() == "now: reviewed"
    assert await late.result() == "awaiting approval"


async def test_awaiting_a_delayed_query_alone_moves_time_to_it(temporal: TemporalHarness) -> None:
    handle = await temporal.start(ApprovalGate.run)
    query = await temporal.query_after(handle, ApprovalGate.status, after=timedelta(hours=1, minutes=1))
    assert await query.result() == "reviewed"


async def test_a_signal_that_cannot_be_delivered_fails_its_result(temporal: TemporalHarness) -> None:
    handle = await temporal.start(ApprovalGate.run)
    await temporal.signal_after(handle, "approve", Order("L"), "late", after=timedelta(days=2))
    assert await handle.result() == "expired"  # a day of waiting ends first
    late = temporal._lifecycle.callbacks._delayed_calls[0]
    with pytest.raises(DelayedCallError, match=r"signal_after\('approve', after=2 days, 0:00:00\) .* failed: "):
        await late.result()
    assert await temporal.verify() == []  # it was awaited: not reported again


async def test_a_cancelled_call_never_happens(temporal: TemporalHarness) -> None:
    handle = await temporal.start(ApprovalGate.run)
    call = await temporal.signal_after(handle, "approve", Order("C"), "nobody", after=timedelta(hours=2))
    await call.cancel()
    assert await handle.result() == "expired"


@pytest.mark.temporal(env="local")
async def test_on_a_server_without_time_skipping_it_happens_in_real_time(temporal: TemporalHarness) -> None:
    assert not temporal.supports_time_skipping
    handle = await temporal.start(ApprovalGate.run)  # its first timer is an hour away
    status = await temporal.query_after(handle, ApprovalGate.status, after=timedelta(milliseconds=200))
    signal = await temporal.signal_after(handle, "approve", Order("R"), "now", after=timedelta(milliseconds=300))
    assert await status.result() == "received"
    await signal.result()
    [delivered] = (await temporal.history(handle)).signals()
    assert delivered.name == "approve"


async def test_after_must_be_a_timedelta(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match=r"temporal.signal_after\(..., after=5\) needs a datetime.timedelta"):
        await temporal.signal_after("some-id", "approve", after=5)  # type: ignore[arg-type]
    with pytest.raises(HarnessUsageError, match="is not a @workflow.query method"):
        await temporal.query_after("some-id", ApprovalGate.approve, after=timedelta(0))


UNAWAITED_FAILURE = """
from datetime import timedelta

from mocking_workflows import ApprovalGate, Order


async def test_forgets_the_failed_signal(temporal):
    handle = await temporal.start(ApprovalGate.run)
    await temporal.signal_after(handle, "approve", Order("L"), "late", after=timedelta(days=2))
    assert await handle.result() == "expired"
    await temporal.sleep(timedelta(days=3))  # past the delivery time: the signal fails
    # ...and nothing looks at it


async def test_pending_calls_are_stopped_quietly(temporal):
    handle = await temporal.start(ApprovalGate.run)
    await temporal.signal_after(handle, "approve", Order("P"), "later", after=timedelta(days=30))
"""


def test_a_failed_delayed_call_nobody_awaited_fails_the_test(project: pytest.Pytester) -> None:
    project.syspathinsert(str(SUPPORT))
    project.makepyfile(test_inner_callbacks=UNAWAITED_FAILURE)
    result = run_expecting(project, passed=2, errors=1)
    result.stdout.fnmatch_lines([
        (
            "*- signal_after('approve', after=2 days, 0:00:00) to '*' failed and nothing awaited it: "
            "signal 'approve' could not be delivered to *"
        ),
    ])
