"""Updates and their validators on every server, and update_after in workflow time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from pytester_support import SUPPORT, run_expecting
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from trade_approval import Approval, Trade, TradeApproval

import pytest_temporal_agents
from pytest_temporal_agents import DelayedCallError, HarnessUsageError, History, TemporalHarness

ROOT = Path(pytest_temporal_agents.__file__).resolve().parents[1]
EXAMPLES = SUPPORT.parent.parent / "docs" / "examples"


def _accepted_updates(history: History) -> int:
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events)


async def test_an_accepted_update_lands_at_its_workflow_time(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("AAPL", 100))
    call = await temporal.update_after(
        handle, TradeApproval.approve, Approval("risk-desk", 500), after=timedelta(hours=5)
    )
    assert (call.kind, call.name) == ("update", "approve")
    assert await handle.result() == "100 AAPL: approved by risk-desk after 5.0h"
    assert (await call.result()).startswith("approved 100 AAPL at ")  # decoded as str
    assert _accepted_updates(await temporal.history(handle)) == 1


async def test_a_rejected_update_names_the_validators_reason(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("TSLA", 300))
    intern = await temporal.update_after(handle, "approve", Approval("intern", 1000), after=timedelta(hours=1))
    too_small = await temporal.update_after(
        handle, TradeApproval.approve, Approval("risk-desk", 100), after=timedelta(hours=2)
    )
    good = await temporal.update_after(
        handle, TradeApproval.approve, Approval("head-of-trading", 300), after=timedelta(hours=3)
    )
    assert await handle.result() == "300 TSLA: approved by head-of-trading after 3.0h"
    with pytest.raises(DelayedCallError, match=r"update 'approve' of '.*' failed: rejected by its validator "
                       r"\(the workflow never accepted it\): ValueError: 'intern' may not approve trades"):
        await intern.result()
    with pytest.raises(DelayedCallError, match="rejected by its validator.*a limit of 100 does not cover 300"):
        await too_small.result()
    assert (await good.result()).startswith("approved 300 TSLA")
    assert _accepted_updates(await temporal.history(handle)) == 1  # rejections leave no trace


async def test_a_handler_that_fails_after_acceptance_is_told_apart(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("MSFT", 10))
    first = await temporal.update_after(handle, TradeApproval.approve, Approval("risk-desk", 10), after=timedelta(hours=1))
    second = await temporal.update_after(
        handle, TradeApproval.approve, Approval("head-of-trading", 10), after=timedelta(hours=1, minutes=10)
    )
    await first.result()
    with pytest.raises(DelayedCallError, match="accepted, then its handler failed: already approved by risk-desk"):
        await second.result()
    assert (await handle.result()).endswith("approved by risk-desk after 1.0h")


async def test_updates_sent_directly_pass_through_the_validator(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("NVDA", 5))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(TradeApproval.approve, Approval("intern", 5))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "ValueError" and "'intern' may not approve" in refused.value.cause.message
    assert await handle.execute_update(TradeApproval.approve, Approval("risk-desk", 5))
    assert await handle.query(TradeApproval.status) == "approved"
    assert (await handle.result()).startswith("5 NVDA: approved by risk-desk")


async def test_update_with_start_runs_on_the_time_skipping_server(temporal: TemporalHarness) -> None:
    """(docs/examples/test_update_approval.py executes one; this one starts it and waits.)"""
    assert temporal.supports_time_skipping
    workflow_id = temporal.new_workflow_id("approval")
    async with temporal.worker(workflows=[TradeApproval]):
        operation = WithStartWorkflowOperation(
            TradeApproval.run, Trade("AMD", 20), id=workflow_id, task_queue=temporal.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        update = await temporal.client.start_update_with_start_workflow(
            TradeApproval.approve, Approval("risk-desk", 20), start_workflow_operation=operation,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        assert (await update.result()).startswith("approved 20 AMD")
        # A handle by id is a plain one too: temporal.result skips the half hour to the order.
        by_id = temporal.client.get_workflow_handle(workflow_id)
        assert (await temporal.result(by_id)).startswith("20 AMD: approved by risk-desk after 0.0h")
    # Started through the harness's client: tracked, so replayed and reported at teardown.
    assert workflow_id in temporal.started_workflows


async def test_an_update_after_the_workflow_ended_fails_its_call(temporal: TemporalHarness) -> None:
    handle = await temporal.start(TradeApproval.run, Trade("IBM", 1))
    late = await temporal.update_after(handle, TradeApproval.approve, Approval("risk-desk", 1), after=timedelta(days=2))
    assert await handle.result() == "1 IBM: expired unapproved"
    with pytest.raises(DelayedCallError, match=r"update_after\('approve', after=2 days.*failed: "):
        await late.result()


async def test_bad_update_arguments_are_usage_errors(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match=r"temporal.update_after\(..., after=3600\) needs a datetime.timedelta"):
        await temporal.update_after("some-id", TradeApproval.approve, after=3600)  # type: ignore[arg-type]


@pytest.mark.temporal(env="local")
async def test_on_the_local_dev_server_updates_happen_in_real_time(temporal: TemporalHarness) -> None:
    assert not temporal.supports_time_skipping
    handle = await temporal.start(TradeApproval.run, Trade("AAPL", 3))
    rejected = await temporal.update_after(handle, "approve", Approval("bot", 3), after=timedelta(milliseconds=100))
    accepted = await temporal.update_after(
        handle, TradeApproval.approve, Approval("risk-desk", 3), after=timedelta(milliseconds=300)
    )
    with pytest.raises(DelayedCallError, match="rejected by its validator.*'bot' may not approve"):
        await rejected.result()
    assert (await accepted.result()).startswith("approved 3 AAPL")
    assert await handle.query(TradeApproval.status) == "approved"  # the order goes out in 30 min
    async with temporal.worker(workflows=[TradeApproval], task_queue=f"{temporal.task_queue}-uws"):
        start = WithStartWorkflowOperation(
            TradeApproval.run, Trade("GE", 1), id=temporal.new_workflow_id("uws"),
            task_queue=f"{temporal.task_queue}-uws", id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        answer = await temporal.client.execute_update_with_start_workflow(
            TradeApproval.approve, Approval("head-of-trading", 1), start_workflow_operation=start
        )
        assert answer.startswith("approved 1 GE")
        assert await (await start.workflow_handle()).query(TradeApproval.status) == "approved"


EXTERNAL_TEST = dedent(
    """
    from datetime import timedelta

    import pytest
    from trade_approval import Approval, Trade, TradeApproval

    from pytest_temporal_agents import DelayedCallError


    async def test_approval_on_the_cluster(temporal):
        handle = await temporal.start(TradeApproval.run, Trade("AAPL", 2))
        refused = await temporal.update_after(handle, "approve", Approval("bot", 9), after=timedelta(0))
        with pytest.raises(DelayedCallError, match="rejected by its validator"):
            await refused.result()
        ok = await temporal.update_after(handle, TradeApproval.approve, Approval("risk-desk", 2),
                                         after=timedelta(milliseconds=50))
        assert (await ok.result()).startswith("approved 2 AAPL")
        assert await handle.query(TradeApproval.status) == "approved"
    """
)


@pytest.mark.temporal(env="local")
async def test_on_an_external_cluster_too(
    temporal: TemporalHarness, project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This test's dev server plays the external cluster an inner run connects to by address."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's plugin, not another install
    address = temporal.client.service_client.config.target_host
    project.makepyfile(
        trade_approval=(EXAMPLES / "trade_approval.py").read_text(), test_external_updates=EXTERNAL_TEST
    )
    result = project.runpytest_subprocess(
        "-p", "pytest_temporal_agents.plugin", "-p", "asyncio", f"--temporal-env={address}",
        f"--rootdir={project.path}",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"temporal: external cluster {address}*"])


UNAWAITED_REJECTION = """
from datetime import timedelta

from trade_approval import Approval, Trade, TradeApproval


async def test_forgets_the_rejected_update(temporal):
    handle = await temporal.start(TradeApproval.run, Trade("AAPL", 50))
    await temporal.update_after(handle, TradeApproval.approve, Approval("intern", 50), after=timedelta(hours=1))
    await temporal.update_after(handle, TradeApproval.approve, Approval("risk-desk", 50), after=timedelta(hours=2))
    assert (await handle.result()).endswith("after 2.0h")
"""


def test_a_rejected_update_nobody_awaited_fails_the_test(project: pytest.Pytester) -> None:
    project.syspathinsert(str(EXAMPLES))
    project.makepyfile(test_inner_updates=UNAWAITED_REJECTION)
    result = run_expecting(project, passed=1, errors=1)
    result.stdout.fnmatch_lines([
        ("*- update_after('approve', after=1:00:00) to '*' failed and nothing awaited it: "
        "update 'approve' of '*' failed: rejected by its validator*'intern' may not approve trades"),
    ])
