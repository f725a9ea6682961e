"""What the harness and the fault wrappers rely on from a real worker and client."""

from __future__ import annotations

import asyncio
import uuid
from types import ModuleType
from typing import Any

import pytest
import sdk_canary_workflows as w
import temporalio.activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Wall-clock seconds a run may take (a second or less when nothing is broken).
RUN_TIMEOUT = 10


def queue() -> str:
    return f"sdk-canary-{uuid.uuid4().hex[:8]}"


async def test_a_worker_runs_a_redefined_activity_with_the_originals_types(
    canary_env: Any, sdk: ModuleType
) -> None:
    seen: dict[str, Any] = {}

    async def faulted(*args: Any) -> Any:
        # What a fault wrapper does: a bare *args signature, the heartbeat swapped.
        seen["args"] = args
        context = sdk.activity_context()
        send = context.heartbeat
        context.heartbeat = lambda *details: seen.setdefault("beats", []).append(details)
        temporalio.activity.heartbeat("progress")
        context.heartbeat = send
        return await w.canary_buy(*args)

    sdk.redefine_activity(faulted, sdk.must_activity_definition(w.canary_buy))
    task_queue = queue()
    async with Worker(
        canary_env.client,
        task_queue=task_queue,
        workflows=[w.RedefinedWorkflow],
        activities=[faulted],
        workflow_runner=sdk.sandboxed_runner(),
    ):
        handle = await canary_env.client.start_workflow(
            w.RedefinedWorkflow.run, id=queue(), task_queue=task_queue
        )
        try:
            result = await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
        except Exception as err:  # noqa: BLE001 - reported with what the wrapper saw
            result = err
    assert seen.get("args") == (w.ORDER,), (
        "a worker given a callable carrying dataclasses.replace(temporalio.activity._Definition,"
        f" fn=wrapper) called it with {seen.get('args')!r}, not (Order('AAPL', 1),): it no "
        "longer registers the activity under the definition's name and argument types "
        "(used by _sdk.redefine_activity -> fault wrappers)"
    )
    assert seen.get("beats") == [("progress",)], (
        "inside a worker's activity, temporalio.activity.heartbeat() no longer goes through "
        "_Context.current().heartbeat (used by _sdk.activity_context -> fault wrappers' "
        "heartbeat recorder)"
    )
    assert result == "bought 1 AAPL", f"the workflow ended with {result!r}"


async def test_a_client_rebuilt_from_its_config_keeps_time_skipping_handles(
    canary_env: Any, sdk: ModuleType
) -> None:
    # What TemporalHarness.__init__ and ._track do with the environment's client and handles.
    config = canary_env.client.config()
    assert isinstance(config, dict) and isinstance(config.get("interceptors"), list), (
        f"temporalio.client.Client.config() returned {config!r}, not a dict with an "
        "'interceptors' list (used by harness.TemporalHarness, which adds its own interceptor)"
    )
    client = Client(**{**config, "interceptors": [*config["interceptors"]]})
    task_queue = queue()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[w.SleeperWorkflow],
        workflow_runner=sdk.sandboxed_runner(),
    ):
        handle = await client.start_workflow(
            w.SleeperWorkflow.run, id=queue(), task_queue=task_queue
        )
        cls = type(handle)
        assert cls is not WorkflowHandle and issubclass(cls, WorkflowHandle), (
            f"the time-skipping client's handle is a {cls.__qualname__}, not a subclass of "
            "temporalio.client.WorkflowHandle (used by harness._track, which subclasses the "
            "handle's own class: that class is what skips time while awaiting a result)"
        )
        assert hasattr(handle, "__dict__"), (
            f"{cls.__qualname__} (the time-skipping handle) has no __dict__ any more "
            "(used by harness._track, which copies a handle's state into its subclass)"
        )

        class Timed(cls):  # type: ignore[misc,valid-type]
            pass

        timed: Any = object.__new__(Timed)
        timed.__dict__.update(handle.__dict__)
        try:
            result = await asyncio.wait_for(timed.result(), RUN_TIMEOUT)
        except asyncio.TimeoutError:
            pytest.fail(
                f"a copy of {cls.__qualname__} into a subclass (harness._track) no longer skips "
                "time while awaiting a one-day sleep",
                pytrace=False,
            )
    assert result == "woke"


async def test_a_worker_lists_the_activities_it_still_runs(canary_env: Any, sdk: ModuleType) -> None:
    task_queue = queue()
    worker = Worker(
        canary_env.client,
        task_queue=task_queue,
        workflows=[w.WaitingActivityWorkflow],
        activities=[w.canary_wait],
        workflow_runner=sdk.sandboxed_runner(),
    )
    async with worker:
        handle = await canary_env.client.start_workflow(
            w.WaitingActivityWorkflow.run, id=queue(), task_queue=task_queue
        )
        running: list[Any] = []
        for _ in range(RUN_TIMEOUT * 20):
            running = sdk.running_activities(worker)
            if running:
                break
            await asyncio.sleep(0.05)
        await handle.terminate()
    assert [(r.name, r.attempt, r.workflow_id, r.sync) for r in running] == [
        ("canary_wait", 1, handle.id, False)
    ], (
        "temporalio.worker.Worker._activity_worker._running_activities no longer maps task tokens "
        "to records with .info (activity_type, attempt, workflow_id), .task and .sync: a worker "
        "stopping at teardown cannot name the activity that ignored cancellation"
    )
    assert isinstance(running[0].task, asyncio.Task)
