"""Workflow code the harness itself registers: mocked child workflows and delayed callbacks.

Kept tiny and free of the rest of the package on purpose: Temporal's default sandbox
re-imports a workflow's module for every workflow run, so this module must import cleanly
inside the sandbox (only ``temporalio`` and the standard library, no I/O at import time).

Why mocked children are classes made on demand: a mocked child must be registered under
the real child's workflow name, and the sandbox loads a workflow class by running
``from <cls.__module__> import <cls.__name__>`` in a fresh copy of the module. A class
created at run time would not exist in that fresh copy; a ``@workflow.defn(dynamic=True)``
class would, but it catches every unknown type, clashes with a user's own dynamic
workflow, and has no registered name for replay and reports. So the class name encodes
the workflow name, and the module's ``__getattr__`` (PEP 562) rebuilds the same class in
any copy of the module, inside the sandbox or out. The class only forwards the call to a
local activity on the same worker; the mock's behaviour and call records live outside the
sandbox, in the harness.

PYTEST_DONT_REWRITE: pytest rewrites the modules of plugins it loads; rewritten code
imports ``_pytest`` afresh in every sandbox, which costs about 0.2 s per mocked child run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payloads
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

# Each name starts with _context.INTERNAL_PREFIX (spelt out: this module imports nothing of ours).
#: Local activity behind every mocked child workflow (registered by the mocking feature).
MOCK_CHILD_ACTIVITY = "pytest-temporal-agents:mock-child-workflow"
#: Helper workflow of ``signal_after`` / ``query_after`` and the activity it queries with.
CALLBACK_WORKFLOW = "pytest-temporal-agents:delayed-callback"
QUERY_ACTIVITY = "pytest-temporal-agents:delayed-query"
#: The activity a delayed update is sent from (a workflow cannot send another one an update).
UPDATE_ACTIVITY = "pytest-temporal-agents:delayed-update"

_CLASS_PREFIX = "MockedWorkflow_"
_ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
_LOCAL_TIMEOUT = timedelta(minutes=10)


def pack(payloads: Sequence[Any]) -> bytes:
    """Payloads as bytes: passes values through the sandbox and activities untouched."""
    return bytes(Payloads(payloads=list(payloads)).SerializeToString())


def unpack(blob: bytes) -> list[Any]:
    """The payloads packed by :func:`pack`."""
    message = Payloads()
    message.ParseFromString(blob)
    return list(message.payloads)


def mocked_workflow_class_name(workflow_name: str) -> str:
    """The (identifier-safe) class name of the mock registered as ``workflow_name``."""
    return _CLASS_PREFIX + workflow_name.encode().hex()


def mocked_workflow_class(workflow_name: str) -> type:
    """The mock workflow class registered under ``workflow_name`` (same class every call)."""
    class_name = mocked_workflow_class_name(workflow_name)
    cls: type = globals().get(class_name) or __getattr__(class_name)
    return cls


async def _forward_to_mock(*args: Any) -> RawValue:
    info = workflow.info()
    converter = workflow.payload_converter()
    meta = {
        "workflow_type": info.workflow_type,
        "workflow_id": info.workflow_id,
        "run_id": info.run_id,
        "parent_workflow_id": info.parent.workflow_id if info.parent else None,
        "attempt": info.attempt,
        "time": workflow.now().isoformat(),
    }
    # Arguments arrive undecoded (the run method takes *args); re-encoded, they reach the
    # harness, which decodes them with the real child's declared parameter types.
    blob = pack([converter.to_payload(arg) for arg in args])
    try:
        delay: float = await workflow.execute_local_activity(
            MOCK_CHILD_ACTIVITY,
            args=["call", meta, blob],
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_ONE_ATTEMPT,
            result_type=float,
        )
        if delay > 0:
            # The mock's `after=`: the child takes that much workflow time, as a timer.
            await workflow.sleep(timedelta(seconds=delay))
        result: RawValue = await workflow.execute_local_activity(
            MOCK_CHILD_ACTIVITY,
            args=["result", meta, b""],
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_ONE_ATTEMPT,
            result_type=RawValue,
        )
    except ActivityError as err:
        # Fail the child with the mock's own error, as the real child would have.
        raise (err.cause or err) from None
    return result


def _build_mocked_workflow_class(class_name: str) -> type:
    workflow_name = bytes.fromhex(class_name[len(_CLASS_PREFIX) :]).decode()

    async def run(self: Any, *args: Any) -> RawValue:
        return await _forward_to_mock(*args)

    # The SDK rejects run methods of local classes by their qualname.
    run.__qualname__ = f"{class_name}.run"
    cls = type(
        class_name,
        (),
        {"__module__": __name__, "__qualname__": class_name, "run": workflow.run(run)},
    )
    return workflow.defn(name=workflow_name)(cls)


def __getattr__(name: str) -> Any:
    if name.startswith(_CLASS_PREFIX):
        cls = _build_mocked_workflow_class(name)
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@workflow.defn(name=CALLBACK_WORKFLOW)
class DelayedCallbackWorkflow:
    """Waits ``delay`` of workflow time, then signals, queries or updates the target workflow.

    Timers fire in time order under time skipping, so the signal lands at exactly that
    point of the target's workflow time. A query or an update runs in an activity: while
    an activity runs the server does not skip time, so the target is observed (or updated)
    at that instant.
    """

    @workflow.run
    async def run(self, target_id: str, kind: str, name: str, delay: float, blob: bytes) -> RawValue:
        await workflow.sleep(timedelta(seconds=delay))
        if kind == "signal":
            args = [RawValue(payload) for payload in unpack(blob)]
            try:
                await workflow.get_external_workflow_handle(target_id).signal(name, args=args)
            except Exception as err:  # noqa: BLE001 - reported to the test, not retried
                raise ApplicationError(
                    f"signal {name!r} could not be delivered to {target_id!r}: {err}",
                    type="DelayedSignalFailed",
                    non_retryable=True,
                ) from None
            return RawValue(workflow.payload_converter().to_payload(None))
        activity = UPDATE_ACTIVITY if kind == "update" else QUERY_ACTIVITY
        try:
            result: RawValue = await workflow.execute_activity(
                activity,
                args=[target_id, name, blob],
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_ONE_ATTEMPT,
                result_type=RawValue,
            )
        except ActivityError as err:
            raise ApplicationError(
                f"{kind} {name!r} of {target_id!r} failed: {err.cause or err}",
                type=f"Delayed{kind.capitalize()}Failed",
                non_retryable=True,
            ) from None
        return result
