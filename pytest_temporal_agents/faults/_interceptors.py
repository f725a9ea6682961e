"""Workflow interceptor: schedule faulted activities with the timeouts the faults shorten.

The server enforces activity timeouts in real time (the time-skipping server too), so an
injected 180 s start-to-close timeout must not wait 180 s. When a timeout fault (or a
cancellation fault, which needs prompt heartbeats) selects an activity call, the workflow
schedules that call with the timeout shortened to the fault's ``shortened_to``; the
ActivityTaskScheduled event shows the shortened value. A call a cancellation fault selects
also waits for the attempt to acknowledge the cancellation (see ``CallOptions``). Nothing
else in the command changes, and replaying the history without this interceptor is
deterministic (the SDK does not compare timeouts on replay).

It also notes every call's retry policy, for the teardown warning about attempts that can
never run. The classes run inside the workflow sandbox: they are handed to the worker as
objects (never re-imported there) and touch nothing but the shared fault state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityCancellationType

from ._state import CRASH_TASK_TIMEOUT, CallOptions, FaultState


class FaultInterceptor(Interceptor):
    """Worker interceptor carrying one test's fault state into its workflows."""

    def __init__(self, state: FaultState) -> None:
        self.state = state

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        state = self.state

        class _Inbound(_FaultInbound):
            fault_state = state

        return _Inbound


class _FaultInbound(WorkflowInboundInterceptor):
    fault_state: FaultState

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_FaultOutbound(outbound, self.fault_state))


class _FaultOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, state: FaultState) -> None:
        super().__init__(next)
        self._state = state

    def start_activity(self, input: StartActivityInput) -> Any:
        self._observe(input.activity, input.retry_policy)
        scheduled = CallOptions(input.start_to_close_timeout, input.heartbeat_timeout, input.schedule_to_close_timeout)
        options = self._state.call_options(input.activity, input.args, scheduled)
        if options != scheduled:
            input = replace(
                input,
                start_to_close_timeout=options.start_to_close,
                heartbeat_timeout=options.heartbeat,
                schedule_to_close_timeout=options.schedule_to_close,
            )
        if options.wait_for_cancellation:
            # Not part of the command, so replay without this interceptor stays deterministic.
            input = replace(input, cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> Any:
        # Local activities have no heartbeat; the worker itself enforces their timeouts.
        self._observe(input.activity, input.retry_policy)
        scheduled = CallOptions(input.start_to_close_timeout, None, input.schedule_to_close_timeout)
        options = self._state.call_options(input.activity, input.args, scheduled)
        if (options.start_to_close, options.schedule_to_close) != (
            scheduled.start_to_close,
            scheduled.schedule_to_close,
        ):
            input = replace(
                input,
                start_to_close_timeout=options.start_to_close,
                schedule_to_close_timeout=options.schedule_to_close,
            )
        return super().start_local_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        if input.task_timeout is None and self._state.has_crashes():
            input = replace(input, task_timeout=CRASH_TASK_TIMEOUT)
        return await super().start_child_workflow(input)

    def _observe(self, activity: str, policy: Any) -> None:
        # No policy given: the server's default, which retries without limit (0).
        self._state.observe_policy(activity, policy.maximum_attempts if policy is not None else 0)
