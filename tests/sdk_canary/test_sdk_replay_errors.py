"""The core's replay errors, in its own words, still parsed by ``_sdk``.

The core reports a failed replay as the debug print of a Rust struct, and the replay report
reads the event, the state machine, the mismatched values and the patch out of its wording
(``_sdk.CORE_*``, ``_sdk.core_error_field``, ``_sdk.is_nondeterminism``). Nothing else
tells when a release rewords it, so these tests make real nondeterminism errors: they run
the workflows of ``sdk_canary_workflows.py`` on a test server, then replay each history
against a variant that issues another command at the same point.
"""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
import sdk_canary_workflows as w
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Wall-clock seconds a recorded run may take (a second or less when nothing is broken).
RUN_TIMEOUT = 10
USED_BY = "used by replay._nondeterminism.parse_sdk_failure -> the replay report"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def histories(canary_env: Any, sdk: ModuleType) -> dict[str, WorkflowHistory]:
    """Each recorded workflow's history, by workflow name."""
    try:
        return await record(canary_env.client, sdk)
    except Exception as err:  # noqa: BLE001 - reported with where to look
        pytest.fail(
            f"recording the canary's workflows failed: {err!r}\n"
            "An SDK change that breaks workers fails test_sdk_internals.py and "
            "test_sdk_worker.py by the internal's name: look there first.",
            pytrace=False,
        )


async def record(client: Any, sdk: ModuleType) -> dict[str, WorkflowHistory]:
    queue = f"sdk-canary-{uuid.uuid4().hex[:8]}"
    recorded: dict[str, WorkflowHistory] = {}
    async with Worker(
        client,
        task_queue=queue,
        workflows=w.RECORDED,
        activities=[w.canary_buy, w.canary_sell],
        workflow_runner=sdk.sandboxed_runner(),
    ):
        for cls in w.RECORDED:
            if cls is w.ChildWorkflow:
                continue
            handle = await client.start_workflow(
                cls.run, id=f"sdk-canary-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            try:
                await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
            except asyncio.TimeoutError:
                raise TimeoutError(f"{cls.__name__} did not finish in {RUN_TIMEOUT} s") from None
            recorded[sdk.workflow_name(cls)] = await handle.fetch_history()
    return recorded


@functools.cache
def runtime() -> Any:
    """One runtime for every replay here, logging only the core's errors."""
    from pytest_temporal_agents.servers import quiet_runtime

    return quiet_runtime()


async def replay(history: WorkflowHistory, variant: type, sdk: ModuleType) -> BaseException:
    replayer = Replayer(
        workflows=[variant, w.ChildWorkflow, w.OtherChildWorkflow],
        workflow_runner=sdk.sandboxed_runner(),
        runtime=runtime(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None, (
        f"temporalio.worker.Replayer replayed {variant.__name__} over a history it does not "
        "match without a failure"
    )
    return result.replay_failure


def first_event_id(history: WorkflowHistory, event_type: str) -> int:
    wanted = "EVENT_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).upper()
    return next(e.event_id for e in history.events if EventType.Name(e.event_type) == wanted)


def parse(message: str, sdk: ModuleType) -> dict[str, Any]:
    """The core message's parts, read with the seam's patterns as the replay report reads them."""
    parts: dict[str, Any] = {}
    if match := sdk.CORE_EVENT_REF.search(message):
        parts["event"] = (int(match["id"]), match["type"])
    if match := sdk.CORE_MACHINE.search(message):
        parts["machine"] = match["machine"]
    elif sdk.CORE_NO_COMMAND in message:
        parts["machine"] = "No command"
    for pattern, mismatch in sdk.CORE_MISMATCHES:
        if match := pattern.search(message):
            parts["mismatch"] = (mismatch, match["history"], match["code"])
            break
    if match := sdk.CORE_PATCH.search(message):
        parts["patch"] = match["patch"]
    return parts


#: Which of the seam's names reads each part.
READ_BY = {
    "event": "_sdk.CORE_EVENT_REF",
    "machine": "_sdk.CORE_MACHINE (or _sdk.CORE_NO_COMMAND)",
    "mismatch": "_sdk.CORE_MISMATCHES",
    "patch": "_sdk.CORE_PATCH",
}

#: (recorded workflow, the changed code, what the seam must read from the core's message);
#: an "event" names the type of the recorded event, whose id is looked up in the history.
CHANGES = [
    pytest.param(
        "CanaryBuy", w.SellsInstead, {"mismatch": ("activity type", "canary_buy", "canary_sell")},
        id="activity-type",
    ),
    pytest.param(
        "CanaryBuy", w.OtherActivityId, {"mismatch": ("activity id", "buy-1", "buy-2")},
        id="activity-id",
    ),
    pytest.param(
        "CanaryBuy", w.SleepsInstead, {"machine": "Timer", "event": "ActivityTaskScheduled"},
        id="timer-machine",
    ),
    pytest.param(
        "CanaryBuy", w.ReturnsAtOnce,
        {"machine": "Complete workflow", "event": "ActivityTaskScheduled"},
        id="complete-workflow-machine",
    ),
    pytest.param(
        "CanaryBuy", w.WaitsForever, {"machine": "No command", "event": "ActivityTaskScheduled"},
        id="no-command",
    ),
    pytest.param("CanaryPatched", w.PatchRemoved, {"patch": w.PATCH}, id="patch"),
    pytest.param(
        "CanaryParent", w.OtherChildType,
        {"mismatch": ("child workflow type", "CanaryChild", "CanaryOtherChild")},
        id="child-type",
    ),
    pytest.param(
        "CanaryParent", w.OtherChildId, {"mismatch": ("child workflow id", "child-1", "child-2")},
        id="child-id",
    ),
    pytest.param(
        "CanaryLocalBuy", w.LocalSellsInstead,
        {"mismatch": ("activity type", "canary_buy", "canary_sell")},
        id="local-activity-type",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("recorded", "variant", "expected"), CHANGES)
async def test_the_seam_reads_a_real_nondeterminism_error(
    histories: dict[str, WorkflowHistory],
    sdk: ModuleType,
    recorded: str,
    variant: type,
    expected: dict[str, Any],
) -> None:
    from temporalio.workflow import NondeterminismError

    history = histories[recorded]
    error = await replay(history, variant, sdk)
    text = str(error)
    assert isinstance(error, NondeterminismError), (
        f"replaying {recorded} on {variant.__name__} raised {type(error).__name__}, not "
        f"temporalio.workflow.NondeterminismError (used by _sdk.is_nondeterminism -> replay): "
        f"{text}"
    )
    assert sdk.is_nondeterminism(text), (
        "the core's nondeterminism error no longer says 'TMPRL1100' or 'NonDeterministicError' "
        "(used by _sdk.is_nondeterminism for replay errors that arrive as text, from the "
        f"replay subprocess): {text}"
    )
    message = sdk.core_error_field("message", text)
    assert message, (
        f"_sdk.core_error_field no longer finds the core's 'message: \"...\"' field ({USED_BY}): "
        f"{text}"
    )
    want = dict(expected)
    if "event" in want:
        want["event"] = (first_event_id(history, want["event"]), want["event"])
    got = parse(message, sdk)
    problems = [
        f"{READ_BY[part]} no longer reads the core's {part}: expected {value!r}, "
        f"read {got.get(part)!r} ({USED_BY})"
        for part, value in want.items()
        if got.get(part) != value
    ]
    assert not problems, "\n".join([*problems, f"The core said: {message}"])


async def test_the_seam_reads_an_error_raised_by_workflow_code_on_replay(
    histories: dict[str, WorkflowHistory], sdk: ModuleType
) -> None:
    text = str(await replay(histories["CanaryBuy"], w.RaisesOnReplay, sdk))
    assert not sdk.is_nondeterminism(text), (
        f"_sdk.is_nondeterminism calls an exception in workflow code nondeterminism: {text}"
    )
    names = ("message", "r#type", "stack_trace")
    fields = {name: sdk.core_error_field(name, text) for name in names}
    problems = []
    if fields["message"] != "'raised by the canary on replay'":
        problems.append(f"'message' read as {fields['message']!r}")
    if fields["r#type"] != "KeyError":
        problems.append(f"'r#type' read as {fields['r#type']!r}, not 'KeyError'")
    stack = fields["stack_trace"] or ""
    if "sdk_canary_workflows.py" not in stack or 'raise KeyError("raised by' not in stack:
        problems.append(f"'stack_trace' read as {stack!r}, without the workflow's line")
    assert not problems, "\n".join(
        [
            *(
                f"_sdk.core_error_field: the core's {p} (used by replay reports of errors in "
                "workflow code: their type, message and source line)"
                for p in problems
            ),
            f"The SDK said: {text}",
        ]
    )


async def test_replayers_prepare_each_workflow_through_the_seams_runner(
    histories: dict[str, WorkflowHistory], sdk: ModuleType
) -> None:
    from dataclasses import dataclass

    prepared: list[Any] = []

    @dataclass(frozen=True)
    class Recording(sdk.ValidateOnceRunner):  # type: ignore[misc,name-defined]
        def prepare_workflow(self, defn: Any) -> None:
            prepared.append(defn)
            super().prepare_workflow(defn)

    replayer = Replayer(workflows=[w.BuyWorkflow], workflow_runner=Recording(), runtime=runtime())
    result = await replayer.replay_workflow(histories["CanaryBuy"], raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    assert [getattr(defn, "cls", None) for defn in prepared] == [w.BuyWorkflow], (
        "temporalio.worker.Replayer no longer calls workflow_runner.prepare_workflow(defn) "
        f"with each workflow's definition (it called it with {prepared!r}); "
        "_sdk.ValidateOnceRunner's override would be skipped (used by every harness worker "
        "and replayer: each class validated once per process)"
    )
