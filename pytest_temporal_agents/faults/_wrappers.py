"""Activity wrappers: decide each attempt's fate, apply it, and record what happened.

Every activity a worker of the test registers (real or mocked: these wrappers are applied
after the mocks) is replaced by a wrapper with the same registered name, argument types
and sync/async nature. Per attempt, the wrapper asks the fault state which fault (if any)
selects it, then raises the injected error, outlasts a timeout the workflow scheduled
shortened, waits for an injected cancellation, or runs the activity (for a model fault,
while the fake model server fails its model requests); afterwards it may
fire a worker crash. Attempts that faults shortened the heartbeat timeout of, but do not
select, are kept alive by heartbeats repeating the activity's own latest details.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import temporalio.activity
import temporalio.exceptions
from temporalio.exceptions import ApplicationError

from .._context import INTERNAL_PREFIX
from .._sdk import (
    ActivityDefinition,
    CompleteAsyncError,
    activity_context,
    activity_definition,
    redefine_activity,
)
from ._attempts import CANCELLED, FAILED, RUNNING, SUCCEEDED, TIMED_OUT, AttemptRecord
from ._model_window import ModelWindow
from ._state import FaultState
from ._types import CancellationFault, ErrorFault, Fault, ModelFault, TimeoutFault

#: Activities the harness itself registers (mocked children, delayed queries): never faulted.
#: A faulted attempt outlasting a timeout waits at most this long (the server ends it first;
#: the worker's shutdown at teardown cancels it earlier still).
HANG_LIMIT_SECONDS = 60.0
#: How often a cancellation fault's attempt heartbeats (the SDK throttles what it sends).
CANCEL_POLL_SECONDS = 0.05
#: Type of the error in-flight attempts fail with when a crash tears their worker down.
WORKER_CRASHED = "WorkerCrashed"

NOT_ENFORCED = (
    "pytest-temporal-agents: the injected {kind} of {activity} attempt {attempt} was not enforced by "
    "the server within {limit:g} s; is the workflow scheduling this activity on this test's worker?"
)

SLOW_HEALTHY_ATTEMPT = """\
{activity} attempt {attempt} (no fault selects it) ran {seconds:.3f} s, longer than the start-to-close \
timeout {shortened:g} s that a fault shortened the call to, so the server timed it out too.
Give that fault a longer shortened_to=, or select this attempt as well."""


def wrap_activities(activities: list[Callable[..., Any]], state: FaultState) -> list[Callable[..., Any]]:
    """The activities, each replaced by its fault wrapper (already wrapped ones kept)."""
    wrapped = []
    for fn in activities:
        defn = activity_definition(fn)
        if defn is None or getattr(fn, "__pta_faults__", None) is state:
            wrapped.append(fn)
            continue
        if defn.name is not None:
            state.register([defn.name])
        if defn.name is not None and defn.name.startswith(INTERNAL_PREFIX):
            wrapped.append(fn)
            continue
        wrapped.append(_wrap(fn, defn, state))
    return wrapped


def _wrap(fn: Callable[..., Any], defn: ActivityDefinition, state: FaultState) -> Callable[..., Any]:
    original = defn.fn
    if defn.is_async:

        async def faulted(*args: Any) -> Any:
            return await _AsyncAttempt(state, original, args).run()

    else:

        def faulted(*args: Any) -> Any:  # type: ignore[misc]
            return _SyncAttempt(state, original, args).run()

    faulted.__name__ = getattr(original, "__name__", "activity")
    faulted.__qualname__ = getattr(original, "__qualname__", faulted.__name__)
    faulted.__doc__ = getattr(original, "__doc__", None)
    faulted.__wrapped__ = fn  # type: ignore[attr-defined]  # signature and mocks see the original
    faulted.__pta_faults__ = state  # type: ignore[attr-defined]
    # The original's definition with only the callable swapped: same name, argument and
    # return types (so payloads decode as before), same thread-cancel behaviour.
    redefine_activity(faulted, defn)
    return faulted


class _Attempt:
    """What both kinds of wrapper share: the decision and its record."""

    def __init__(self, state: FaultState, fn: Callable[..., Any], args: Sequence[Any]) -> None:
        self.state = state
        self.fn = fn
        self.args = tuple(args)
        self.info = temporalio.activity.info()
        self.name = self.info.activity_type
        self.fault = state.fault_for(self.name, self.info.attempt, self.args)
        identity = state.worker_identity(self.info.task_queue) if state.worker_identity else ""
        self.record = state.log.add(
            AttemptRecord(
                activity=self.name,
                attempt=self.info.attempt,
                outcome=RUNNING,
                workflow_id=self.info.workflow_id or "",
                run_id=self.info.workflow_run_id or "",
                activity_id=self.info.activity_id,
                args=self.args,
                fault=self.fault,
                worker=identity,
            )
        )
        self.started = time.monotonic()
        state.supersede(self.record.call, None)  # a model fault of an earlier attempt ends here
        self.keepalive = self.state.keeps_alive(self.name, self.args) and not (
            isinstance(self.fault, TimeoutFault) and self.fault.timeout_type == "HEARTBEAT"
        )

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def injected_error(self, fault: ErrorFault) -> ApplicationError:
        return ApplicationError(
            fault.error_message(self.info.attempt),
            *fault.details,
            type=fault.type,
            non_retryable=fault.non_retryable,
            next_retry_delay=fault.next_retry_delay,
        )

    def failed_with(self, fault: ErrorFault) -> ApplicationError:
        """The injected error, recorded as this attempt's failure (a crash may follow it)."""
        error = self.injected_error(fault)
        self.record.finish(FAILED, error, self.elapsed)
        self.crash_if_due(None, error)
        return error

    def not_enforced(self, fault: Fault) -> ApplicationError:
        return ApplicationError(
            NOT_ENFORCED.format(
                kind=fault.kind, activity=self.name, attempt=self.info.attempt, limit=HANG_LIMIT_SECONDS
            ),
            type="InjectedFaultNotEnforced",
            non_retryable=True,
        )

    def crashed(self) -> ApplicationError:
        return ApplicationError(
            f"pytest-temporal-agents: the worker running {self.name} attempt {self.info.attempt} crashed "
            "(an injected worker_crash); the server retries it on the new worker",
            type=WORKER_CRASHED,
        )

    def interrupted_by_crash(self) -> bool:
        return self.info.task_queue in self.state.crashing and temporalio.activity.is_worker_shutdown()

    def finished(self, error: BaseException | None) -> None:
        """Record a run of the real activity; note a healthy attempt the shortened timeout cut."""
        self.record.finish(FAILED if error is not None else SUCCEEDED, error, self.elapsed)
        shortened = self.state.shortened_start_to_close(self.name, self.args)
        if self.fault is None and shortened is not None and self.elapsed > shortened.total_seconds():
            self.state.note(
                SLOW_HEALTHY_ATTEMPT.format(
                    activity=self.name,
                    attempt=self.info.attempt,
                    seconds=self.elapsed,
                    shortened=shortened.total_seconds(),
                )
            )

    @contextmanager
    def observing(self, cancelled: type[BaseException]) -> Iterator[None]:
        """Record how the activity's own code ended: failed, cancelled (or interrupted by
        an injected crash, then failed with ``WorkerCrashed``), or still running."""
        try:
            yield
        except CompleteAsyncError:
            raise  # the activity completes later, by its task token: still running
        except cancelled:
            if self.interrupted_by_crash():
                error = self.crashed()
                self.record.finish(FAILED, error, self.elapsed)
                raise error from None
            self.record.finish(CANCELLED, "cancelled", self.elapsed)
            raise
        except BaseException as err:
            self.finished(err)
            self.crash_if_due(None, err)
            raise

    @contextmanager
    def model_window(self, fault: ModelFault) -> Iterator[None]:
        """While the activity runs, the fake model server fails its model requests."""
        window = ModelWindow(self.state, fault, self.record, self.info.start_to_close_timeout)
        window.open()
        try:
            yield
        finally:
            window.close()

    def succeeded(self, result: Any) -> Any:
        """Record a successful attempt (and crash the worker if a crash follows it)."""
        self.finished(None)
        self.crash_if_due(result, None)
        return result

    def start_timing_out(self, fault: TimeoutFault) -> None:
        scheduled = {
            "START_TO_CLOSE": self.info.start_to_close_timeout,
            "HEARTBEAT": self.info.heartbeat_timeout,
            "SCHEDULE_TO_CLOSE": self.info.schedule_to_close_timeout,
        }[fault.timeout_type]
        after = f" after {scheduled.total_seconds():g} s" if scheduled else ""
        self.record.finish(TIMED_OUT, f"{fault.timeout_type} timeout{after}", None)

    def crash_if_due(self, result: Any, error: BaseException | None) -> None:
        """Fire a crash due after this attempt: hand the outcome to it and leave.

        The attempt completes asynchronously: the crash stops the old worker completely
        (so none of its pollers can take the next workflow task and lose it, which would
        cost a 10 s workflow task timeout), starts the new one, and only then reports this
        outcome with the attempt's task token. The workflow resumes on the new worker.
        """
        crash = self.state.crash_after(self.name, self.info.attempt, self.args, error is None)
        if crash is None or self.state.crash_worker is None:
            return
        if self.info.is_local:
            self.state.problem(f"{crash!r}: a crash cannot follow a local activity ({self.name})")
            return
        queue = self.info.task_queue
        report = AsyncOutcome(self.info.task_token, result, error)
        self.state.crashing.add(queue)
        self._schedule(self.state.crash_worker(queue, crash, report))
        temporalio.activity.raise_complete_async()

    def _schedule(self, coroutine: Any) -> None:
        """Run a coroutine on the harness's loop, from the loop or an activity thread."""
        loop = self.state.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (loop is None or running is loop):
            self.state.keep(asyncio.ensure_future(coroutine))
        else:
            assert loop is not None
            self.state.keep(asyncio.run_coroutine_threadsafe(coroutine, loop))

    def heartbeat_recorder(self) -> tuple[Callable[..., None], list[Any]]:
        """Patch this attempt's heartbeat to remember the latest details; return the real one.

        Keep-alive beats must repeat what the activity last sent, or they would overwrite
        its progress details; the SDK offers no read-back, so the context's heartbeat
        callable (per attempt) is swapped for one that records.
        """
        context = activity_context()
        send = context.heartbeat
        assert send is not None
        latest: list[Any] = list(self.info.heartbeat_details)

        def recording(*details: Any) -> None:
            latest[:] = details
            send(*details)

        context.heartbeat = recording
        return send, latest

    def keepalive_interval(self) -> float:
        timeout = self.info.heartbeat_timeout
        return timeout.total_seconds() / 4 if timeout else 1.0


class _AsyncAttempt(_Attempt):
    async def run(self) -> Any:
        beats = asyncio.ensure_future(self._keep_alive()) if self.keepalive else None
        try:
            fault = self.fault
            if isinstance(fault, ModelFault):  # the activity runs; its model fails
                with self.model_window(fault):
                    with self.observing(asyncio.CancelledError):
                        result = await self.fn(*self.args)
                    return self.succeeded(result)
            if fault is None or fault.after_running:
                with self.observing(asyncio.CancelledError):
                    result = await self.fn(*self.args)
                if fault is None:
                    return self.succeeded(result)
            return await self._apply(fault)
        finally:
            if beats is not None:
                beats.cancel()

    async def _apply(self, fault: Fault) -> Any:
        if isinstance(fault, ErrorFault):
            raise self.failed_with(fault)
        if isinstance(fault, TimeoutFault):
            self.start_timing_out(fault)
            await asyncio.sleep(HANG_LIMIT_SECONDS)  # the server times it out; shutdown cancels it
            raise self.not_enforced(fault)
        if isinstance(fault, CancellationFault):
            self.record.finish(CANCELLED, "workflow cancellation requested during this attempt", None)
            assert self.state.cancel_workflow is not None
            self._schedule(self.state.cancel_workflow(self.record.workflow_id, self.record.run_id))
            deadline = time.monotonic() + HANG_LIMIT_SECONDS
            while time.monotonic() < deadline:
                temporalio.activity.heartbeat()  # the cancellation arrives in a heartbeat response
                await asyncio.sleep(CANCEL_POLL_SECONDS)
            raise self.not_enforced(fault)
        raise TypeError(f"unknown fault {fault!r}")  # pragma: no cover - the vocabulary is closed

    async def _keep_alive(self) -> None:
        send, latest = self.heartbeat_recorder()
        interval = self.keepalive_interval()
        while True:
            send(*latest)
            await asyncio.sleep(interval)


class _SyncAttempt(_Attempt):
    """The same for activities that run in the worker's thread pool."""

    def run(self) -> Any:
        stop = threading.Event()
        if self.keepalive:
            self._keep_alive(stop)
        try:
            fault = self.fault
            if isinstance(fault, ModelFault):
                with self.model_window(fault):
                    with self.observing(temporalio.exceptions.CancelledError):
                        result = self.fn(*self.args)
                    return self.succeeded(result)
            if fault is None or fault.after_running:
                with self.observing(temporalio.exceptions.CancelledError):
                    result = self.fn(*self.args)
                if fault is None:
                    return self.succeeded(result)
            return self._apply(fault)
        finally:
            stop.set()

    def _apply(self, fault: Fault) -> Any:
        if isinstance(fault, ErrorFault):
            raise self.failed_with(fault)
        if isinstance(fault, TimeoutFault):
            self.start_timing_out(fault)
            self._wait(lambda: False)
            raise self.not_enforced(fault)
        if isinstance(fault, CancellationFault):
            self.record.finish(CANCELLED, "workflow cancellation requested during this attempt", None)
            assert self.state.cancel_workflow is not None
            self._schedule(self.state.cancel_workflow(self.record.workflow_id, self.record.run_id))
            self._wait(temporalio.activity.heartbeat)
            raise self.not_enforced(fault)
        raise TypeError(f"unknown fault {fault!r}")  # pragma: no cover

    def _wait(self, tick: Callable[[], Any]) -> None:
        """Block until cancelled (the SDK raises into this thread) or the worker shuts down."""
        deadline = time.monotonic() + HANG_LIMIT_SECONDS
        while time.monotonic() < deadline:
            if temporalio.activity.is_cancelled() or temporalio.activity.is_worker_shutdown():
                raise temporalio.exceptions.CancelledError("pytest-temporal-agents: attempt ended")
            tick()
            time.sleep(CANCEL_POLL_SECONDS)

    def _keep_alive(self, stop: threading.Event) -> None:
        send, latest = self.heartbeat_recorder()
        interval = self.keepalive_interval()

        def beat() -> None:
            while not stop.is_set():
                try:
                    send(*latest)
                except Exception:  # noqa: BLE001 - the attempt is over or the worker stopping
                    return
                stop.wait(interval)

        threading.Thread(target=beat, name="pta-keepalive", daemon=True).start()


class AsyncOutcome:
    """The outcome of the attempt that fired a crash, reported with its task token once the
    new worker runs (the attempt completes asynchronously, see ``crash_if_due``)."""

    def __init__(self, task_token: bytes, result: Any, error: BaseException | None) -> None:
        self.task_token = task_token
        self._result = result
        self._error = error

    async def __call__(self, client: Any) -> None:
        handle = client.get_async_activity_handle(task_token=self.task_token)
        if self._error is None:
            await handle.complete(self._result)
        else:
            await handle.fail(self._error)
