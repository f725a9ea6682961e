"""Harness feature: signals, queries and updates delivered at a point of workflow time.

Go's test suite has ``RegisterDelayedCallback``: run this when the workflow's clock reaches
T. On a real server the test cannot hook the workflow's clock, but another workflow can:
a small helper workflow (``_workflows.DelayedCallbackWorkflow``) sleeps ``after`` and then
signals the target, or runs an activity that queries or updates it (a workflow cannot
send an update). Under time skipping the server fires timers in time order, so the signal
lands exactly at that point of the target's timeline; while the query or update activity
runs the server does not skip time, so the answer is the target's state at that instant,
and the update's validator and handler see that workflow time. On servers without time
skipping the same thing happens in real time.

The helpers run on a worker of their own (a task queue of their own), started on first
use, and are started through the environment's client, not the test's, so they stay out
of the test's started workflows (reports, replay checks).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import temporalio.activity
import temporalio.workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from .._context import TestContext, WorkerRecord
from .._errors import HarnessUsageError, TemporalAgentsError
from .._sdk import query_definition, signal_name, update_name_and_type
from ..servers import TERMINATION_SETTLE, settle
from ._workflows import (
    CALLBACK_WORKFLOW,
    QUERY_ACTIVITY,
    UPDATE_ACTIVITY,
    DelayedCallbackWorkflow,
    pack,
    unpack,
)

BAD_AFTER = """\
temporal.{method}(..., after={after!r}) needs a datetime.timedelta >= 0 of workflow time,
such as after=timedelta(hours=2), counted from now (the server's current time)."""


UPDATE_REJECTED = "rejected by its validator (the workflow never accepted it)"
UPDATE_FAILED = "accepted, then its handler failed"


class DelayedCallError(TemporalAgentsError, AssertionError):
    """A delayed signal could not be delivered, a delayed query failed, or a delayed update
    was rejected by its validator or failed in its handler (the message says which)."""


class DelayedCall:
    """A signal, query or update scheduled in workflow time by ``signal_after`` /
    ``query_after`` / ``update_after``.

    Attributes:
        kind: ``"signal"``, ``"query"`` or ``"update"``.
        name: the signal, query or update name.
        workflow_id: the target workflow.
        after: the delay, in workflow time, from when it was scheduled.
    """

    def __init__(
        self,
        ctx: TestContext,
        kind: str,
        name: str,
        workflow_id: str,
        after: timedelta,
        helper: WorkflowHandle[Any, Any],
        result_type: type | None,
    ) -> None:
        self._ctx = ctx
        self.kind, self.name, self.workflow_id, self.after = kind, name, workflow_id, after
        self._helper = helper
        self._result_type: Any = result_type
        self._observed = False

    def __repr__(self) -> str:
        return f"<DelayedCall {self.describe()}>"

    def describe(self) -> str:
        return f"{self.kind}_after({self.name!r}, after={self.after}) to {self.workflow_id!r}"

    async def result(self, *, timeout: timedelta | None = None) -> Any:
        """Wait until it happened; the query's answer or the update's result (None for a
        signal).

        Under time skipping, waiting skips time up to the delivery point.

        Raises:
            DelayedCallError: the signal could not be delivered (the workflow had already
                finished, say), the query failed, or the update was rejected by its
                validator or failed in its handler.
        """
        self._observed = True
        try:
            raw = await self._ctx.result(self._helper, timeout=timeout)
        except WorkflowFailureError as err:
            raise DelayedCallError(f"{self.describe()} failed: {_cause(err)}") from None
        if self.kind == "signal":
            return None
        converter = self._ctx.client.data_converter.payload_converter
        return converter.from_payload(raw.payload, self._result_type)

    async def cancel(self) -> None:
        """Call it off if it has not happened yet."""
        self._observed = True
        await self._stop()

    async def _stop(self) -> bool:
        """Terminate the helper if it still waits; whether it did."""
        try:
            if (await self._helper.describe()).status != WorkflowExecutionStatus.RUNNING:
                return False
            # Terminating it with a task or activity in flight would leak a time-skipping
            # lock in the Java test server (see the harness's ``close``).
            await settle(self._helper, TERMINATION_SETTLE, activities=True)
            await self._helper.terminate(reason="pytest-temporal-agents: delayed call called off")
        except RPCError:  # it finished meanwhile
            return False
        return True

    async def _teardown(self) -> str | None:
        """Stop it if pending; a failure nobody awaited is a problem line."""
        if await self._stop() or self._observed:
            return None
        try:
            await self._helper.result()
        except WorkflowFailureError as err:
            return f"- {self.describe()} failed and nothing awaited it: {_cause(err)}"
        return None


def _cause(err: WorkflowFailureError) -> str:
    cause = err.cause
    return str(getattr(cause, "message", None) or cause or err)


class CallbacksFeature:
    """``signal_after`` / ``query_after`` / ``update_after``: helper workflows on a worker
    of their own, and at teardown (:meth:`problems`) the calls that failed with nobody
    awaiting them."""

    def __init__(self, ctx: TestContext) -> None:
        self._ctx = ctx
        self._callback_queue = f"{ctx.task_queue}-callbacks"
        self._delayed_calls: list[DelayedCall] = []
        self._callback_worker_lock = asyncio.Lock()

    async def signal_after(
        self,
        handle: WorkflowHandle[Any, Any] | str,
        signal: Callable[..., Any] | str,
        *args: Any,
        after: timedelta,
    ) -> DelayedCall:
        """Send a signal when ``after`` of workflow time has passed (Go's RegisterDelayedCallback).

        Args:
            handle: the target workflow's handle (or id).
            signal: the ``@workflow.signal`` method or the signal's name.
            *args: the signal's arguments.
            after: workflow time from now; under time skipping it lands exactly there.

        Returns:
            A :class:`DelayedCall`; ``await call.result()`` waits until delivered.
        """
        name = signal_name(signal)
        return await self._schedule("signal_after", "signal", handle, name, args, after, None)

    async def query_after(
        self,
        handle: WorkflowHandle[Any, Any] | str,
        query: Callable[..., Any] | str,
        *args: Any,
        after: timedelta,
        result_type: type | None = None,
    ) -> DelayedCall:
        """Query the workflow when ``after`` of workflow time has passed.

        Args:
            handle: the target workflow's handle (or id).
            query: the ``@workflow.query`` method or the query's name.
            *args: the query's arguments.
            after: workflow time from now.
            result_type: for a query given by name, the type to decode the answer as
                (a method's return annotation is used otherwise).

        Returns:
            A :class:`DelayedCall`; ``await call.result()`` is the answer at that time.
        """
        if callable(query):
            defn = query_definition(query)
            if defn is None or not defn.name:
                raise HarnessUsageError(f"{query!r} is not a @workflow.query method; pass it or its name.")
            name, result_type = defn.name, result_type or defn.ret_type
        else:
            name = query
        return await self._schedule("query_after", "query", handle, name, args, after, result_type)

    async def update_after(
        self,
        handle: WorkflowHandle[Any, Any] | str,
        update: Callable[..., Any] | str,
        *args: Any,
        after: timedelta,
        result_type: type | None = None,
    ) -> DelayedCall:
        """Send an update when ``after`` of workflow time has passed (like :meth:`signal_after`).

        The update goes through the target's validator and handler at that point of its
        workflow time, as a human approval would in production.

        Args:
            handle: the target workflow's handle (or id).
            update: the ``@workflow.update`` method or the update's name.
            *args: the update's arguments.
            after: workflow time from now; under time skipping it lands exactly there.
            result_type: for an update given by name, the type to decode its result as
                (a method's return annotation is used otherwise).

        Returns:
            A :class:`DelayedCall`; ``await call.result()`` is the update's result, or
            raises :class:`DelayedCallError` saying whether the validator rejected it or
            the handler failed.
        """
        try:
            name, declared = update_name_and_type(update)
        except RuntimeError as err:  # a dynamic update handler
            raise HarnessUsageError(f"temporal.update_after({update!r}): {err}; pass the update's name.") from None
        return await self._schedule(
            "update_after", "update", handle, name, args, after, result_type or declared
        )

    async def _schedule(
        self,
        method: str,
        kind: str,
        handle: WorkflowHandle[Any, Any] | str,
        name: str,
        args: tuple[Any, ...],
        after: timedelta,
        result_type: type | None,
    ) -> DelayedCall:
        if not isinstance(after, timedelta) or after < timedelta(0):
            raise HarnessUsageError(BAD_AFTER.format(method=method, after=after))
        ctx = self._ctx
        target = handle if isinstance(handle, str) else handle.id
        await self._ensure_callback_worker()
        blob = pack(ctx.client.data_converter.payload_converter.to_payloads(list(args)))
        # The environment's client: helpers are not the test's workflows.
        helper = await ctx.env.client.start_workflow(
            CALLBACK_WORKFLOW,
            args=[target, kind, name, after.total_seconds(), blob],
            id=ctx.new_workflow_id(f"{kind}-after"),
            task_queue=self._callback_queue,
            result_type=RawValue,
        )
        call = DelayedCall(ctx, kind, name, target, after, helper, result_type)
        self._delayed_calls.append(call)
        return call

    async def _ensure_callback_worker(self) -> None:
        from temporalio.worker import Worker

        ctx = self._ctx
        async with self._callback_worker_lock:
            if ctx.polling(self._callback_queue):
                return
            client = ctx.env.client

            @temporalio.activity.defn(name=QUERY_ACTIVITY)
            async def delayed_query(target_id: str, name: str, blob: bytes) -> RawValue:
                args = [RawValue(payload) for payload in unpack(blob)]
                result: RawValue = await client.get_workflow_handle(target_id).query(
                    name, args=args, result_type=RawValue
                )
                return result

            @temporalio.activity.defn(name=UPDATE_ACTIVITY)
            async def delayed_update(target_id: str, name: str, blob: bytes) -> RawValue:
                args = [RawValue(payload) for payload in unpack(blob)]
                target = client.get_workflow_handle(target_id)
                update_id = f"pta-delayed-{uuid.uuid4().hex[:12]}"
                try:
                    result: RawValue = await target.execute_update(
                        name, args=args, id=update_id, result_type=RawValue
                    )
                except WorkflowUpdateFailedError as err:
                    how = UPDATE_FAILED if await _accepted(target, update_id) else UPDATE_REJECTED
                    raise ApplicationError(f"{how}: {err.cause}", non_retryable=True) from None
                return result

            worker = Worker(
                client,
                task_queue=self._callback_queue,
                workflows=[DelayedCallbackWorkflow],
                activities=[delayed_query, delayed_update],
            )
            await worker.__aenter__()
            # A background worker of the harness: close() stops it with the others.
            ctx.workers.append(
                WorkerRecord(
                    worker,
                    self._callback_queue,
                    [DelayedCallbackWorkflow],
                    [delayed_query, delayed_update],
                    True,
                    helper=True,
                )
            )

    async def problems(self) -> list[str]:
        problems = []
        for call in self._delayed_calls:
            problem = await call._teardown()
            if problem:
                problems.append(problem)
        return problems


async def _accepted(handle: WorkflowHandle[Any, Any], update_id: str) -> bool:
    """Whether the workflow accepted this update (its validator passed): a rejected update
    leaves nothing in the history, an accepted one an ``UpdateAccepted`` event."""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            meta = event.workflow_execution_update_accepted_event_attributes.accepted_request.meta
            if meta.update_id == update_id:
                return True
    return False
