"""The no-hang timeout: a workflow result that fails with a diagnosis instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import WorkflowHandle

from .._context import StartedWorkflow, TestContext
from .._errors import WorkflowTimeoutError
from ..history import format_offset

WORKFLOW_TIMEOUT = """\
Workflow {workflow_id!r} ({workflow_type}) did not finish within {timeout} of wall time.
It is terminated when the test ends, so that the session can go on. Raise the limit with --temporal-timeout,
the ini option temporal_timeout or @pytest.mark.temporal(timeout=...) if it is just slow.
{pending}
Timeline:
{timeline}"""


async def wait_for_result(
    ctx: TestContext,
    handle: WorkflowHandle[Any, Any],
    timeout: timedelta | None = None,
    **result_options: Any,
) -> Any:
    """The workflow's result within ``timeout`` (the test's by default), else
    :class:`WorkflowTimeoutError` with its pending activities, timers and timeline."""
    limit = timeout or ctx.timeout
    try:
        untimed = getattr(handle, "_untimed_result", handle.result)
        if type(handle).result is WorkflowHandle.result and hasattr(ctx.env, "time_skipping_unlocked"):
            # A plain handle (update-with-start's, one got by id) does not skip time while
            # it waits, as the time-skipping client's own handles do: let it.
            async with ctx.env.time_skipping_unlocked():
                return await asyncio.wait_for(untimed(**result_options), timeout=limit.total_seconds())
        return await asyncio.wait_for(untimed(**result_options), timeout=limit.total_seconds())
    except asyncio.TimeoutError:
        # Not terminated here: an activity may be in flight, and only the teardown's
        # order (see TemporalHarness.close) keeps the shared time-skipping server's clock working.
        raise WorkflowTimeoutError(await stuck_report(ctx, handle, limit)) from None


async def stuck_report(ctx: TestContext, handle: WorkflowHandle[Any, Any], limit: timedelta) -> str:
    """What a workflow that did not finish in time is waiting on, and its timeline."""
    lines: list[str] = []
    workflow_type = ctx.started.get(handle.id, StartedWorkflow(handle.id, None, "?")).workflow_type
    try:
        described = await handle.describe()
        raw = described.raw_description
        if raw.pending_activities:
            lines.append("Pending activities:")
            for act in raw.pending_activities:
                failure = f", last failure: {act.last_failure.message}" if act.last_failure.message else ""
                lines.append(
                    f"  - {act.activity_type.name} (id {act.activity_id}): attempt {act.attempt}, "
                    f"state {_enum_tail(act.state)}{failure}"
                )
        if raw.pending_children:
            lines.append("Pending child workflows:")
            lines.extend(f"  - {c.workflow_type_name} (id {c.workflow_id})" for c in raw.pending_children)
        history = await ctx.history(handle)
        timers = [t for t in history.timers() if t.status == "started"]
        if timers:
            lines.append("Pending timers:")
            lines.extend(f"  - timer {t.timer_id} for {format_offset(t.duration).lstrip('+')}" for t in timers)
        stuck_task = _failing_workflow_task(history.events)
        if stuck_task:
            lines.append(stuck_task)
        elif not lines:
            lines.append("Nothing pending: it is waiting for a signal, an update or a condition.")
        timeline = history.timeline()
    except Exception as err:  # noqa: BLE001 - diagnosis must not hide the timeout
        timeline = f"  (could not fetch the history: {err})"
    return WORKFLOW_TIMEOUT.format(
        workflow_id=handle.id,
        workflow_type=workflow_type,
        timeout=f"{limit.total_seconds():g} s",
        pending="\n".join(lines),
        timeline=timeline,
    )


DEADLOCK_CODE = "TMPRL1101"


def _failing_workflow_task(events: Any) -> str | None:
    """What the workflow's last workflow task said, when it failed and nothing came after."""
    retrying = (EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    last = next((e for e in reversed(events) if e.event_type not in retrying), None)
    if last is None or last.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        return None
    message = last.workflow_task_failed_event_attributes.failure.message
    if DEADLOCK_CODE in message:
        return (
            "Its workflow code never yields: the SDK stopped waiting for it after 2 s "
            f"({message.rstrip('.')}). Look for a loop without an `await`, or a blocking call "
            "(time.sleep, file or network I/O) in the workflow's code."
        )
    return f"Its last workflow task failed and is retried: {message}"


def with_timeout(
    handle: WorkflowHandle[Any, Any], result: Callable[..., Awaitable[Any]]
) -> WorkflowHandle[Any, Any]:
    """The same handle whose ``result()`` goes through ``result(handle, **options)``."""
    if isinstance(handle, _TimedResult):
        return handle
    # Same state in a subclass of the handle's own class: the time-skipping
    # client's handle class is what unlocks time skipping while awaiting results.
    timed: Any = object.__new__(_timed_class(type(handle)))
    timed.__dict__.update(handle.__dict__)
    timed._timed_result = result
    return timed  # type: ignore[no-any-return]


class _TimedResult:
    """Mixin for workflow handles: ``result()`` applies the test's no-hang timeout."""

    _timed_result: Callable[..., Awaitable[Any]]

    async def result(self, **kwargs: Any) -> Any:
        return await self._timed_result(self, **kwargs)

    async def _untimed_result(self, **kwargs: Any) -> Any:
        return await super().result(**kwargs)  # type: ignore[misc]


_TIMED_CLASSES: dict[type, type] = {}


def _timed_class(cls: type) -> type:
    if cls not in _TIMED_CLASSES:
        _TIMED_CLASSES[cls] = type(f"Timed{cls.__name__.lstrip('_')}", (_TimedResult, cls), {})
    return _TIMED_CLASSES[cls]


def _enum_tail(value: Any) -> str:
    return PendingActivityState.Name(value).removeprefix("PENDING_ACTIVITY_STATE_")
