"""Every activity attempt the workers ran, as the fault wrappers saw it.

The server's history keeps only each activity's last attempt (its ActivityTaskStarted and
final event; the time-skipping test server does not even fill in ``last_failure``), so the
wrappers record each attempt here: outcome, error, the fault that caused it. The records
back ``temporal.attempts()``, ``temporal.assert_attempts()`` and the "Attempts" section
that ``temporal.history()`` adds to a timeline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from temporalio.exceptions import ApplicationError

from .._errors import HarnessUsageError
from ..history import History

if TYPE_CHECKING:
    from ._types import Fault

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
RUNNING = "running"

UNCHECKED: Any = type("_Unchecked", (), {"__repr__": lambda self: "UNCHECKED"})()

NEVER_RAN = """\
{activity!r} never ran in this test{scope}, so its attempts cannot be checked.
Activities that ran: {ran}."""

SEVERAL_CALLS = """\
temporal.assert_attempts({activity!r}, ...) is ambiguous: the activity was called {count} times{scope}.
{calls}
Pick one with where=<predicate of the arguments>, workflow=<handle or id> and/or
call=<1-based number in the order above>."""

ATTEMPTS_DIFFER = """\
Attempts of {activity!r} {where} are not what the test expects.
  expected: {expected}
  actual:   {actual}
{attempts}"""


@dataclass
class AttemptRecord:
    """One attempt of one activity call, as the worker ran it.

    Attributes:
        activity: registered activity name.
        attempt: attempt number, 1 for the first.
        outcome: ``succeeded``, ``failed``, ``timed_out`` (an injected timeout: the server
            timed it out), ``cancelled`` or ``running``.
        workflow_id / run_id / activity_id: the call it belongs to.
        args: the arguments, decoded to their declared types.
        fault: the injected fault that decided the outcome, if any.
        error: the error as ``message [type]`` or the timeout type.
        error_type: ApplicationError type, exception class name or timeout type.
        worker: identity of the worker that ran the attempt.
        seconds: wall time the attempt took in the worker (None while running).
    """

    activity: str
    attempt: int
    outcome: str
    workflow_id: str
    run_id: str
    activity_id: str
    args: tuple[Any, ...] = ()
    fault: Fault | None = None
    error: str | None = None
    error_type: str | None = None
    worker: str = ""
    seconds: float | None = None

    @property
    def call(self) -> tuple[str, str, str]:
        return (self.workflow_id, self.run_id, self.activity_id)

    def finish(self, outcome: str, error: BaseException | str | None = None, seconds: float | None = None) -> None:
        self.outcome = outcome
        self.seconds = seconds
        if isinstance(error, ApplicationError):
            kind = error.type or "ApplicationError"
            self.error = f"{error.message} [{kind}{', non-retryable' if error.non_retryable else ''}]"
            self.error_type = kind
        elif isinstance(error, BaseException):
            self.error = f"{error} [{type(error).__name__}]" if str(error) else type(error).__name__
            self.error_type = type(error).__name__
        elif error is not None:
            self.error = self.error_type = error

    def describe(self) -> str:
        """``attempt 2: failed: boom [Boom] (injected retryable_error('fetch'))``."""
        text = f"attempt {self.attempt}: {self.outcome.replace('_', ' ')}"
        if self.error:
            text += f": {self.error}"
        if self.fault is not None:
            text += f" (injected {self.fault!r})"
        return text


class AttemptLog:
    """Thread-safe list of attempts (sync activities run in threads)."""

    def __init__(self) -> None:
        self._records: list[AttemptRecord] = []
        self._lock = threading.Lock()

    def add(self, record: AttemptRecord) -> AttemptRecord:
        with self._lock:
            self._records.append(record)
        return record

    def records(self, activity: str | None = None, workflow_id: str | None = None) -> list[AttemptRecord]:
        with self._lock:
            found = list(self._records)
        return [
            r
            for r in found
            if (activity is None or r.activity == activity) and (workflow_id is None or r.workflow_id == workflow_id)
        ]

    def calls(self, activity: str | None = None, workflow_id: str | None = None) -> list[list[AttemptRecord]]:
        """The attempts grouped by call, calls in the order their first attempt started."""
        grouped: dict[tuple[str, str, str], list[AttemptRecord]] = {}
        for record in self.records(activity, workflow_id):
            grouped.setdefault(record.call, []).append(record)
        return [sorted(group, key=lambda r: r.attempt) for group in grouped.values()]


def check_attempts(
    log: AttemptLog,
    activity: str,
    *,
    failed: Sequence[int] | Any = UNCHECKED,
    succeeded: int | None | Any = UNCHECKED,
    workflow_id: str | None = None,
    call: int | None = None,
    where: Callable[..., bool] | None = None,
) -> list[AttemptRecord]:
    """Compare one call's attempts with what the test expects; raise AssertionError if not.

    Returns:
        The call's attempts.
    """
    scope = f" by workflow {workflow_id!r}" if workflow_id else ""
    if where is not None:
        scope += " with arguments that where= accepts"
    calls = [c for c in log.calls(activity, workflow_id) if where is None or where(*c[0].args)]
    if not calls:
        ran = sorted({r.activity for r in log.records()})
        raise AssertionError(NEVER_RAN.format(activity=activity, scope=scope, ran=", ".join(ran) or "none"))
    if call is not None:
        if not 1 <= call <= len(calls):
            raise HarnessUsageError(
                f"temporal.assert_attempts({activity!r}, call={call!r}): the activity was called "
                f"{len(calls)} time(s){scope}; call= counts from 1."
            )
        chosen = calls[call - 1]
    elif len(calls) > 1:
        listing = "\n".join(
            f"  {n}. workflow {c[0].workflow_id!r}, activity id {c[0].activity_id}, args {_short(c[0].args)}"
            for n, c in enumerate(calls, 1)
        )
        raise HarnessUsageError(
            SEVERAL_CALLS.format(activity=activity, count=len(calls), scope=scope, calls=listing)
        )
    else:
        chosen = calls[0]
    actual_failed = [r.attempt for r in chosen if r.outcome not in (SUCCEEDED, RUNNING)]
    actual_succeeded = next((r.attempt for r in chosen if r.outcome == SUCCEEDED), None)
    mismatch = (failed is not UNCHECKED and list(failed) != actual_failed) or (
        succeeded is not UNCHECKED and succeeded != actual_succeeded
    )
    if mismatch:
        expected = []
        if failed is not UNCHECKED:
            expected.append(f"failed {list(failed)}")
        if succeeded is not UNCHECKED:
            expected.append(f"succeeded {succeeded}" if succeeded is not None else "no attempt succeeded")
        actual = f"failed {actual_failed}, " + (
            f"succeeded {actual_succeeded}" if actual_succeeded is not None else "no attempt succeeded"
        )
        first = chosen[0]
        raise AssertionError(
            ATTEMPTS_DIFFER.format(
                activity=activity,
                where=f"(workflow {first.workflow_id!r}, activity id {first.activity_id})",
                expected=", ".join(expected),
                actual=actual,
                attempts="\n".join(f"  - {r.describe()}" for r in chosen),
            )
        )
    return chosen


def _short(args: Sequence[Any], limit: int = 60) -> str:
    text = ", ".join(repr(a) for a in args)
    return f"({text if len(text) <= limit else text[: limit - 1] + '…'})"


class AttemptHistory(History):
    """A History that also knows every attempt the workers ran for its workflow.

    ``timeline()`` ends with an "Attempts" section listing each call's attempts, since
    the events show only the last attempt of each activity.
    """

    def __init__(self, history: History, log: AttemptLog) -> None:
        super().__init__(history.raw)
        self._log = log

    def attempts(self, activity: str | None = None) -> list[AttemptRecord]:
        """Every attempt of this workflow's activities (optionally one activity's)."""
        return self._log.records(activity, self.workflow_id)

    def timeline(self, *, workflow_tasks: bool = False, max_events: int | None = 200) -> str:
        text = super().timeline(workflow_tasks=workflow_tasks, max_events=max_events)
        calls = self._log.calls(workflow_id=self.workflow_id)
        if not calls:
            return text
        lines = ["Attempts (the worker's record; the events above keep only each activity's last attempt):"]
        for attempts in calls:
            first = attempts[0]
            lines.append(f"  {first.activity} id={first.activity_id}:")
            lines.extend(f"    {r.describe()}" for r in attempts)
        return text + "\n" + "\n".join(lines)
