"""The fault vocabulary's constructors: one function per fault, checked as it is declared."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Final

from .._errors import HarnessUsageError
from .._sdk import activity_name
from ._types import (
    DEFAULT_SHORTENED_TIMEOUT,
    EVERY_ATTEMPT,
    INJECTED_ERROR_TYPE,
    ActivityRef,
    Attempts,
    CancellationFault,
    ErrorFault,
    Fault,
    FaultPlan,
    FaultWarning,
    TimeoutFault,
    WorkerCrash,
    _EveryAttempt,
)

BAD_ATTEMPTS = """\
{phrase}(..., attempts={value!r}) is invalid: attempts are attempt numbers counted from 1
(the first attempt), such as attempts=[1] or attempts=[1, 2], or EVERY_ATTEMPT."""

BAD_TIMEOUT = """\
{phrase}(..., shortened_to={value!r}) is invalid: give a timedelta (or seconds) greater than 0
and under a minute, such as shortened_to=timedelta(milliseconds=500)."""

BAD_WHERE = """\
{phrase}(..., where={value!r}) is invalid: give a function of the activity's arguments that
returns True for the calls the fault hits, such as where=lambda request: request.symbol == "TSLA"."""

BAD_TYPE = """\
error_of_type(..., type={value!r}) is invalid: give the ApplicationError type as a non-empty
string, as listed in the retry policy's non_retryable_error_types (e.g. type="InsufficientFunds")."""


# -- argument checks ------------------------------------------------------------------------
def _attempts(phrase: str, value: Any) -> Attempts:
    if isinstance(value, _EveryAttempt):
        return value
    items = [value] if isinstance(value, int) else value
    try:
        numbers: list[int] = sorted(set(items))
    except TypeError:
        raise HarnessUsageError(BAD_ATTEMPTS.format(phrase=phrase, value=value)) from None
    if not numbers or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers):
        raise HarnessUsageError(BAD_ATTEMPTS.format(phrase=phrase, value=value))
    return tuple(numbers)


def _timeout(phrase: str, value: Any) -> timedelta:
    delta = timedelta(seconds=value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(delta, timedelta) or not timedelta(0) < delta < timedelta(minutes=1):
        raise HarnessUsageError(BAD_TIMEOUT.format(phrase=phrase, value=value))
    return delta


def _where(phrase: str, value: Any) -> Callable[..., bool] | None:
    if value is not None and not callable(value):
        raise HarnessUsageError(BAD_WHERE.format(phrase=phrase, value=value))
    return value  # type: ignore[no-any-return]


def _common(phrase: str, activity: ActivityRef, attempts: Any, where: Any) -> dict[str, Any]:
    return {
        "kind": phrase,
        "activity": activity_name(activity),
        "attempts": _attempts(phrase, attempts),
        "where": _where(phrase, where),
    }


def _error_fault(
    phrase: str,
    activity: ActivityRef,
    attempts: Any,
    where: Any,
    message: str | None,
    type: str,
    details: Sequence[Any],
    **options: Any,
) -> ErrorFault:
    return ErrorFault(
        **_common(phrase, activity, attempts, where),
        message=message,
        type=type,
        details=tuple(details),
        **options,
    )


# -- the vocabulary -------------------------------------------------------------------------
def retryable_error(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    message: str | None = None,
    type: str = INJECTED_ERROR_TYPE,
    details: Sequence[Any] = (),
    next_retry_delay: timedelta | None = None,
    where: Callable[..., bool] | None = None,
    after_running: bool = False,
) -> ErrorFault:
    """The selected attempts raise a retryable ``ApplicationError``; the server retries them.

    Args:
        activity: the activity function or its registered name.
        attempts: attempt numbers (1 is the first), or ``EVERY_ATTEMPT``.
        message: the error message (default names the fault and attempt).
        type: the ``ApplicationError`` type the workflow sees.
        details: ``ApplicationError`` details.
        next_retry_delay: overrides the retry policy's backoff before the next attempt.
        where: only calls whose arguments this predicate accepts.
        after_running: run the activity first and lose its result.
    """
    return _error_fault(
        "retryable_error", activity, attempts, where, message, type, details,
        after_running=after_running, next_retry_delay=next_retry_delay,
    )  # fmt: skip


def non_retryable_error(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    message: str | None = None,
    type: str = INJECTED_ERROR_TYPE,
    details: Sequence[Any] = (),
    where: Callable[..., bool] | None = None,
    after_running: bool = False,
) -> ErrorFault:
    """The selected attempt raises ``ApplicationError(non_retryable=True)``: no retry follows,
    the workflow sees ``ActivityError`` caused by it. Arguments as :func:`retryable_error`."""
    return _error_fault(
        "non_retryable_error", activity, attempts, where, message, type, details,
        after_running=after_running, non_retryable=True,
    )  # fmt: skip


def error_of_type(
    activity: ActivityRef,
    type: str,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    message: str | None = None,
    details: Sequence[Any] = (),
    where: Callable[..., bool] | None = None,
    after_running: bool = False,
) -> ErrorFault:
    """The selected attempts raise an ``ApplicationError`` of ``type``, marked retryable:
    whether it is retried is up to the retry policy's ``non_retryable_error_types``, as in
    production. Arguments as :func:`retryable_error`."""
    if not isinstance(type, str) or not type:
        raise HarnessUsageError(BAD_TYPE.format(value=type))
    return _error_fault(
        "error_of_type", activity, attempts, where, message, type, details, after_running=after_running
    )


def _timeout_fault(
    phrase: str,
    timeout_type: str,
    activity: ActivityRef,
    attempts: Any,
    shortened_to: Any,
    where: Any,
    after_running: bool,
) -> TimeoutFault:
    return TimeoutFault(
        **_common(phrase, activity, attempts, where),
        timeout_type=timeout_type,
        shortened_to=_timeout(phrase, shortened_to),
        after_running=after_running,
    )


def start_to_close_timeout(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    shortened_to: timedelta | float = DEFAULT_SHORTENED_TIMEOUT,
    where: Callable[..., bool] | None = None,
    after_running: bool = False,
) -> TimeoutFault:
    """The server times the selected attempts out (``TimeoutType.START_TO_CLOSE``).

    The workflow schedules the activity with its start-to-close timeout shortened to
    ``shortened_to``; the selected attempts outlast it; the other attempts of the same
    call run the activity under the shortened timeout.

    Args:
        shortened_to: the start-to-close timeout the call is scheduled with.
        after_running: run the activity, then hang: its result is lost.
    """
    return _timeout_fault(
        "start_to_close_timeout", "START_TO_CLOSE", activity, attempts, shortened_to, where, after_running
    )


def heartbeat_timeout(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    shortened_to: timedelta | float = DEFAULT_SHORTENED_TIMEOUT,
    where: Callable[..., bool] | None = None,
    after_running: bool = False,
) -> TimeoutFault:
    """The selected attempts stop heartbeating and the server times them out
    (``TimeoutType.HEARTBEAT``).

    The workflow schedules the activity with its heartbeat timeout shortened to
    ``shortened_to``; the other attempts of the call are kept alive by heartbeats the
    harness sends for them (repeating the activity's own latest details).
    """
    return _timeout_fault(
        "heartbeat_timeout", "HEARTBEAT", activity, attempts, shortened_to, where, after_running
    )


def schedule_to_close_timeout(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = EVERY_ATTEMPT,
    shortened_to: timedelta | float = DEFAULT_SHORTENED_TIMEOUT,
    where: Callable[..., bool] | None = None,
) -> TimeoutFault:
    """The call runs out of its whole budget (``TimeoutType.SCHEDULE_TO_CLOSE``).

    The workflow schedules the activity with its schedule-to-close timeout shortened to
    ``shortened_to``, and the selected attempts (by default every one) hang until the
    server ends the call. No retry follows a schedule-to-close timeout.
    """
    return _timeout_fault(
        "schedule_to_close_timeout", "SCHEDULE_TO_CLOSE", activity, attempts, shortened_to, where, False
    )


def cancellation(
    activity: ActivityRef,
    *,
    attempts: Iterable[int] | int | _EveryAttempt = (1,),
    where: Callable[..., bool] | None = None,
) -> CancellationFault:
    """While a selected attempt runs, the workflow that called it is asked to cancel
    (as ``handle.cancel()`` does), and the server cancels the activity.

    What the workflow then sees is what production gives it: with the default
    ``ActivityCancellationType.TRY_CANCEL`` the awaited activity raises ``ActivityError``
    caused by ``CancelledError`` at once; the workflow's own cancellation handling runs.
    """
    return CancellationFault(**_common("cancellation", activity, attempts, where))


def worker_crash(
    *,
    after: ActivityRef,
    attempts: Iterable[int] | int | _EveryAttempt | None = None,
    where: Callable[..., bool] | None = None,
) -> WorkerCrash:
    """Once an attempt of ``after`` finishes, its worker is torn down mid-workflow and a
    fresh worker (no state, no cache) resumes the workflow from its history.

    The crash fires once. The finished attempt's outcome still reaches the server; other
    attempts running on that worker at that moment fail with a retryable
    ``WorkerCrashed`` error and are retried on the new worker.

    Args:
        after: the activity after which the crash happens.
        attempts: after which attempt numbers; ``None`` (default): the first that succeeds.
        where: only calls whose arguments this predicate accepts.
    """
    return WorkerCrash(
        kind="worker_crash",
        activity=activity_name(after),
        attempts=None if attempts is None else _attempts("worker_crash", attempts),
        where=_where("worker_crash", where),
    )


#: Every fault phrase, by name (what ``fault_plans(kinds=...)`` accepts besides the functions).
PHRASES: Final[dict[str, Callable[..., Fault]]] = {
    "retryable_error": retryable_error,
    "non_retryable_error": non_retryable_error,
    "error_of_type": error_of_type,
    "start_to_close_timeout": start_to_close_timeout,
    "heartbeat_timeout": heartbeat_timeout,
    "schedule_to_close_timeout": schedule_to_close_timeout,
    "cancellation": cancellation,
    "worker_crash": worker_crash,
}
