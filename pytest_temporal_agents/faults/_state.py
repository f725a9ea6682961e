"""The faults a test injected, and what the workers observed while applying them.

Shared by the activity wrappers (in the worker's event loop or its activity threads), the
workflow interceptor (in workflow threads, inside the sandbox) and the harness feature; so
every mutation takes the lock, and nothing here imports pytest or starts anything.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from ._attempts import AttemptLog
from ._types import CancellationFault, Fault, ModelFault, TimeoutFault, WorkerCrash

#: Heartbeat timeout a cancellation fault schedules its activity with: a cancellation reaches
#: a running attempt only in a heartbeat's response, and heartbeats are throttled to 80% of it.
CANCEL_HEARTBEAT_TIMEOUT = timedelta(milliseconds=250)

#: Workflow task timeout of workflows (and children) started in a test with crash faults,
#: unless they set one. A workflow task that reaches a worker in the instant it shuts down
#: is lost with it, and the server retries it only after this timeout (10 s by default).
CRASH_TASK_TIMEOUT = timedelta(seconds=2)

PREDICATE_FAILED = "{fault!r}: its where= predicate raised {error!r} for the arguments {args}"


@dataclass
class CallOptions:
    """What faults change in how an activity call is scheduled.

    Attributes:
        start_to_close / heartbeat / schedule_to_close: the timeouts, shortened by faults.
        wait_for_cancellation: a cancellation fault selects the call: the workflow waits
            for the attempt to acknowledge its cancellation (WAIT_CANCELLATION_COMPLETED).
            Otherwise the workflow could close while the attempt still runs, and the
            time-skipping test server then never releases the time lock that the running
            attempt holds: time would stop skipping for the rest of the session.
    """

    start_to_close: timedelta | None = None
    heartbeat: timedelta | None = None
    schedule_to_close: timedelta | None = None
    wait_for_cancellation: bool = False

    def shorten(self, attribute: str, limit: timedelta) -> None:
        current = getattr(self, attribute)
        setattr(self, attribute, limit if current is None else min(current, limit))


@dataclass
class FaultState:
    """Injected faults plus the observations that checks and reports need.

    Attributes:
        faults: injected faults in order; for any attempt the first that selects it applies.
        log: every attempt the wrapped activities ran.
        registered: names of every activity a worker of the test registered.
        policies: per activity, the ``maximum_attempts`` of each call scheduled (0: unlimited).
        problems: teardown failures (a ``where`` predicate that raised, a crash that failed).
        notes: teardown warnings (a healthy attempt slower than a shortened timeout).
    """

    faults: list[Fault] = field(default_factory=list)
    log: AttemptLog = field(default_factory=AttemptLog)
    registered: set[str] = field(default_factory=set)
    policies: dict[str, set[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Set by the harness feature: the loop its workers run in, and what a fault asks of it.
    loop: asyncio.AbstractEventLoop | None = None
    cancel_workflow: Callable[[str, str | None], Awaitable[None]] | None = None
    #: (task queue, the crash, a coroutine function that reports the finished attempt's
    #: outcome through a client once the new worker runs)
    crash_worker: Callable[[str, WorkerCrash, Callable[[Any], Awaitable[None]]], Awaitable[None]] | None = None
    worker_identity: Callable[[str], str] | None = None
    #: The fake model server model faults act on (a ``FakeLLM``), found when one is injected.
    model_server: Any = None
    #: Per activity call: the model fault window of its latest attempt (a ``ModelWindow``).
    windows: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    #: Task queues whose worker a crash is tearing down right now.
    crashing: set[str] = field(default_factory=set)
    #: Tasks and futures started on behalf of faults; teardown waits for them.
    pending: list[Any] = field(default_factory=list)
    _fired: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- decisions --------------------------------------------------------------------------
    def _selects(self, fault: Fault, activity: str, attempt: int | None, args: Sequence[Any]) -> bool:
        try:
            if attempt is None:
                return fault.matches_call(activity, args)
            return fault.selects(activity, attempt, args)
        except Exception as err:  # noqa: BLE001 - a user predicate; reported at teardown
            self.problem(PREDICATE_FAILED.format(fault=fault, error=err, args=_args(args)))
            return False

    def fault_for(self, activity: str, attempt: int, args: Sequence[Any]) -> Fault | None:
        """The fault that decides this attempt's outcome, if any (crashes excluded)."""
        for fault in list(self.faults):
            if not isinstance(fault, WorkerCrash) and self._selects(fault, activity, attempt, args):
                return fault
        return None

    def crash_after(self, activity: str, attempt: int, args: Sequence[Any], succeeded: bool) -> WorkerCrash | None:
        """The crash to fire once this attempt finishes, marked fired (each fires once)."""
        for index, fault in enumerate(list(self.faults)):
            if not isinstance(fault, WorkerCrash) or index in self._fired:
                continue
            if fault.attempts is None and not succeeded:
                continue
            if self._selects(fault, activity, attempt, args):
                with self._lock:
                    if index in self._fired:
                        continue
                    self._fired.add(index)
                return fault
        return None

    def call_options(self, activity: str, args: Sequence[Any], scheduled: CallOptions) -> CallOptions:
        """How a call of ``activity`` is scheduled, given the faults that may select it."""
        options = replace(scheduled)
        for fault in list(self.faults):
            if isinstance(fault, TimeoutFault) and self._selects(fault, activity, None, args):
                options.shorten(fault.timeout_type.lower(), fault.shortened_to)
            elif isinstance(fault, ModelFault) and fault.shortened_to and self._selects(fault, activity, None, args):
                options.shorten("start_to_close", fault.shortened_to)  # a model that hangs
            elif isinstance(fault, CancellationFault) and self._selects(fault, activity, None, args):
                options.shorten("heartbeat", CANCEL_HEARTBEAT_TIMEOUT)
                options.wait_for_cancellation = True
        return options

    def shortened_start_to_close(self, activity: str, args: Sequence[Any]) -> timedelta | None:
        """The start-to-close timeout faults impose on this call, if any."""
        return self.call_options(activity, args, CallOptions()).start_to_close

    def keeps_alive(self, activity: str, args: Sequence[Any]) -> bool:
        """Whether faults shortened this call's heartbeat timeout (healthy attempts need beats)."""
        return self.call_options(activity, args, CallOptions()).heartbeat is not None

    def has_crashes(self) -> bool:
        return any(isinstance(f, WorkerCrash) for f in list(self.faults))

    def crashes_pending(self) -> bool:
        """Whether a crash fault has yet to fire."""
        return any(
            isinstance(f, WorkerCrash) and i not in self._fired for i, f in enumerate(list(self.faults))
        )

    # -- observations -------------------------------------------------------------------------
    def observe_policy(self, activity: str, maximum_attempts: int) -> None:
        with self._lock:
            self.policies.setdefault(activity, set()).add(maximum_attempts)

    def supersede(self, call: tuple[str, str, str], window: Any, *, only: Any = None) -> None:
        """Make ``window`` the call's model fault window (None: no window); an earlier
        attempt's window ends, since the server has moved on to a new attempt.
        With ``only``, do so only if that is the call's window now."""
        with self._lock:
            current = self.windows.get(call)
            if only is not None and current is not only:
                return
            if window is None:
                self.windows.pop(call, None)
            else:
                self.windows[call] = window
        if current is not None and current is not window and current is not only:
            current.expire()

    def register(self, names: Sequence[str]) -> None:
        with self._lock:
            self.registered.update(names)

    def problem(self, text: str) -> None:
        with self._lock:
            if text not in self.problems:
                self.problems.append(text)

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def keep(self, task: Any) -> None:
        """Hold a reference to a task or future started for a fault, for teardown to await."""
        with self._lock:
            self.pending.append(task)

    def take_pending(self) -> list[Any]:
        with self._lock:
            pending, self.pending = self.pending, []
        return pending


def _args(args: Sequence[Any], limit: int = 80) -> str:
    text = ", ".join(repr(a) for a in args)
    return f"({text if len(text) <= limit else text[: limit - 1] + '…'})"
