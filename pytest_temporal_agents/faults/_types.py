"""The fault types: what ``pytest_temporal_agents.faults`` builds and ``inject`` takes.

Frozen dataclasses whose ``repr`` is the call that builds them, the :data:`EVERY_ATTEMPT`
constant, and :class:`FaultPlan`. The phrases that build them are in ``faults``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, Final, overload

from .._errors import HarnessUsageError, TemporalAgentsWarning


class FaultWarning(TemporalAgentsWarning):
    """An injected fault can never fire, or fired differently than it says."""


class _EveryAttempt:
    """Every attempt of the activity (the type of :data:`EVERY_ATTEMPT`, its only instance)."""

    def __contains__(self, attempt: object) -> bool:
        return isinstance(attempt, int) and attempt >= 1

    def __repr__(self) -> str:
        return "EVERY_ATTEMPT"

    def __reduce__(self) -> str:
        return "EVERY_ATTEMPT"


#: ``attempts=EVERY_ATTEMPT``: the fault hits every attempt, so the activity never succeeds.
EVERY_ATTEMPT: Final[_EveryAttempt] = _EveryAttempt()

Attempts = tuple[int, ...] | _EveryAttempt
ActivityRef = Callable[..., Any] | str

#: Default for ``shortened_to``: long enough for a fast activity's healthy attempt to finish
#: (non-faulted attempts of the same call run under it too), short enough for fast tests.
DEFAULT_SHORTENED_TIMEOUT: Final = timedelta(milliseconds=250)
#: ApplicationError type of injected errors unless ``type=`` says otherwise.
INJECTED_ERROR_TYPE: Final = "InjectedFault"

#: Defaults of a phrase that differ from the field's (left out of reprs).
_PHRASE_DEFAULTS: Final[dict[tuple[str, str], Any]] = {
    ("schedule_to_close_timeout", "attempts"): EVERY_ATTEMPT,
    ("model_hang", "shortened_to"): DEFAULT_SHORTENED_TIMEOUT,
}

@dataclass(frozen=True, kw_only=True, repr=False)
class Fault:
    """One thing that goes wrong in the selected attempts of one activity.

    Attributes:
        kind: the phrase that built it (``retryable_error``, ``heartbeat_timeout``, ...).
        activity: registered name of the activity.
        attempts: attempt numbers the fault hits, or :data:`EVERY_ATTEMPT`.
        where: optional predicate on the call's arguments; the fault hits only calls it accepts.
        after_running: run the activity first, then fail the attempt: its result is lost,
            as when a worker dies after the side effect but before reporting it.
    """

    kind: str
    activity: str
    attempts: Attempts = (1,)
    where: Callable[..., bool] | None = None
    after_running: bool = False

    def selects(self, activity: str, attempt: int, args: Sequence[Any]) -> bool:
        """Whether this fault hits ``attempt`` of a call of ``activity`` with ``args``.

        Raises:
            Exception: whatever ``where`` raises (the caller reports it).
        """
        if activity != self.activity or attempt not in self.attempts:
            return False
        return self.where is None or bool(self.where(*args))

    def matches_call(self, activity: str, args: Sequence[Any]) -> bool:
        """Whether this fault hits some attempt of this call (the attempt not yet known)."""
        return activity == self.activity and (self.where is None or bool(self.where(*args)))

    def __repr__(self) -> str:
        parts = [repr(self.activity)]
        for f in fields(self):
            if f.name in ("kind", "activity") or not f.repr:
                continue
            value = getattr(self, f.name)
            default = _PHRASE_DEFAULTS.get((self.kind, f.name), f.default)
            if value == default:
                continue
            if f.name == "attempts" and isinstance(value, tuple):
                parts.append(f"attempts={list(value)!r}")
            elif f.name == "where":
                parts.append(f"where={getattr(value, '__name__', value)}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"{self.kind}({', '.join(parts)})"


@dataclass(frozen=True, kw_only=True, repr=False)
class ErrorFault(Fault):
    """The attempt raises an :class:`~temporalio.exceptions.ApplicationError`."""

    message: str | None = None
    type: str = INJECTED_ERROR_TYPE
    details: tuple[Any, ...] = ()
    non_retryable: bool = field(default=False, repr=False)  # the kind says it
    next_retry_delay: timedelta | None = None

    def error_message(self, attempt: int) -> str:
        return self.message or f"injected {self.kind} in {self.activity} attempt {attempt}"


@dataclass(frozen=True, kw_only=True, repr=False)
class TimeoutFault(Fault):
    """The server times the attempt out: the workflow schedules the activity with the
    timeout shortened to ``shortened_to``, and the attempt outlasts it."""

    #: ``START_TO_CLOSE``, ``HEARTBEAT`` or ``SCHEDULE_TO_CLOSE`` (temporalio's TimeoutType names).
    timeout_type: str = field(default="START_TO_CLOSE", repr=False)
    shortened_to: timedelta = DEFAULT_SHORTENED_TIMEOUT


@dataclass(frozen=True, kw_only=True, repr=False)
class CancellationFault(Fault):
    """While the attempt runs, the workflow is asked to cancel, which cancels the activity."""


@dataclass(frozen=True, kw_only=True, repr=False)
class WorkerCrash(Fault):
    """Once the attempt finishes, its worker is torn down and a fresh one takes over.

    ``attempts=None`` (the default) means: after the first attempt that succeeds.
    """

    attempts: Attempts | None = None  # type: ignore[assignment]

    def selects(self, activity: str, attempt: int, args: Sequence[Any]) -> bool:
        if self.attempts is None:
            return activity == self.activity and (self.where is None or bool(self.where(*args)))
        return super().selects(activity, attempt, args)

    def __repr__(self) -> str:
        return super().__repr__().replace("worker_crash(", "worker_crash(after=", 1)


@dataclass(frozen=True, kw_only=True, repr=False)
class ModelFault(Fault):
    """While a selected attempt runs, the fake model server answers its model requests with
    a failure instead of the test's script.

    Attributes:
        failure: the fake's scripting method it stands for: ``fail``, ``hang``,
            ``truncated`` or ``malformed_tool_call``.
        status / retry_after / message: of a ``model_error`` (an HTTP error).
        name: the tool of a ``model_malformed_tool_call``.
        contains / model / tool / api: only requests that match (as ``fake_llm.when``).
        times: only the attempt's first ``times`` requests (None: every one).
        shortened_to: a ``model_hang``'s start-to-close timeout for the call.
    """

    failure: str = field(default="fail", repr=False)  # the kind says it
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    name: str | None = None
    contains: str | None = None
    model: str | None = None
    tool: str | None = None
    api: str | None = None
    times: int | None = None
    shortened_to: timedelta | None = None

    @property
    def filters(self) -> dict[str, str]:
        """The request criteria given (``contains``, ``model``, ``tool``, ``api``)."""
        given = {"contains": self.contains, "model": self.model, "tool": self.tool, "api": self.api}
        return {key: value for key, value in given.items() if value is not None}


class FaultPlan(Sequence[Fault]):
    """An ordered set of faults, as ``inject`` takes them and ``fault_plans()`` draws them.

    Its repr is the code that builds it, so a failing hypothesis example reads as a plan.
    ``drawn`` marks a plan a strategy drew (or one built from drawn plans): its faults may
    well select activities a workflow never reaches, which is no reason to warn.
    """

    __slots__ = ("drawn", "faults")
    drawn: bool
    faults: tuple[Fault, ...]

    def __init__(self, *faults: Fault | Iterable[Fault], drawn: bool = False) -> None:
        self.faults = tuple(flatten_faults(faults))
        self.drawn = drawn or any(isinstance(part, FaultPlan) and part.drawn for part in faults)

    @overload
    def __getitem__(self, index: int) -> Fault: ...
    @overload
    def __getitem__(self, index: slice) -> FaultPlan: ...
    def __getitem__(self, index: int | slice) -> Fault | FaultPlan:
        if isinstance(index, slice):
            return FaultPlan(*self.faults[index])
        return self.faults[index]

    def __len__(self) -> int:
        return len(self.faults)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.faults)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FaultPlan) and other.faults == self.faults

    def __hash__(self) -> int:
        return hash(self.faults)

    def __repr__(self) -> str:
        return f"FaultPlan({', '.join(repr(f) for f in self.faults)})"

    @property
    def kinds(self) -> list[str]:
        """The kinds of fault in the plan, in order (repeats kept)."""
        return [f.kind for f in self.faults]


def flatten_faults(items: Iterable[Any]) -> Iterator[Fault]:
    """Faults from faults, plans and lists of them; anything else is a usage error."""
    for item in items:
        if isinstance(item, Fault):
            yield item
        elif isinstance(item, (FaultPlan, list, tuple)):
            yield from flatten_faults(item)
        else:
            raise HarnessUsageError(
                f"temporal.inject() got {item!r}: expected faults built by "
                "pytest_temporal_agents.faults (retryable_error(...), start_to_close_timeout(...), "
                "worker_crash(...), model_error(...), ...) or a FaultPlan."
            )
