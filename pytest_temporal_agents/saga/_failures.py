"""Saga failure points: each forward step failed for good by each kind of fault.

``strategies.saga_failures(...)`` draws from these (hypothesis explores them all, since the
space is small and finite); ``saga_failure_points(...)`` lists them for
``pytest.mark.parametrize``. A failure must fail its step *for good*, so that the saga has to
roll back: non-retryable kinds hit the first attempt, retryable ones every attempt (the
activity's retry policy must then have a ``maximum_attempts``, or the step would retry
forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .._errors import HarnessUsageError
from ._model import step_ref

#: Fault kinds that fail a step for good with their defaults.
DEFAULT_KINDS = ("non_retryable_error", "retryable_error", "start_to_close_timeout")
#: Kinds a step is failed by on its first attempt (nothing retries them).
_FIRST_ATTEMPT = ("non_retryable_error", "schedule_to_close_timeout", "cancellation")
#: Kinds a step is failed by on every attempt (each is retried until the policy gives up).
_EVERY_ATTEMPT = ("retryable_error", "start_to_close_timeout", "heartbeat_timeout")
_TIMEOUTS = ("start_to_close_timeout", "heartbeat_timeout", "schedule_to_close_timeout")
_NOT_AFTER = ("schedule_to_close_timeout", "cancellation")

FaultKind = str | Callable[[str], Any]

BAD_KIND = """\
saga_failures(kinds=[..., {value!r}, ...]): {reason}
Kinds that fail a step for good: {choices}; or a function of the step's registered name that
returns a fault, such as lambda step: error_of_type(step, "InsufficientFunds", attempts=EVERY_ATTEMPT)."""

NO_STEPS = """\
saga_failures(forward_steps={value!r}) is invalid: list the saga's forward steps in the order
the workflow runs them (activities or their registered names), such as
forward_steps=[reserve_capital, place_order, confirm_execution]."""


@dataclass(frozen=True)
class SagaFailure:
    """One failure point: ``step`` fails for good by a fault of ``kind``.

    Attributes:
        step: registered name of the forward step that fails.
        kind: the fault kind (a phrase of ``pytest_temporal_agents.faults``, or the name of
            the function that built the fault).
        fault: the fault that fails it: ``temporal.inject(failure.fault)``.
        completed_before: the forward steps before it, which complete before it fails.
        after_running: the step's effect happened before its result was lost.
    """

    step: str
    kind: str
    fault: Any
    completed_before: tuple[str, ...]
    after_running: bool = False

    @property
    def plan(self) -> Any:
        """The fault as a one-fault ``FaultPlan``."""
        from ..faults import FaultPlan

        return FaultPlan(self.fault)

    @property
    def through(self) -> str | None:
        """The last step that completes before the failure (None: it fails at the first)."""
        return self.completed_before[-1] if self.completed_before else None

    def __repr__(self) -> str:
        lost = ", after_running=True" if self.after_running else ""
        return f"SagaFailure(at={self.step!r}, kind={self.kind!r}{lost})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints a falsifying example with this (IPython's protocol); without it,
        # a dataclass is printed field by field, fault and all.
        printer.text(repr(self))


def saga_failure_points(
    forward_steps: Sequence[Any],
    kinds: Iterable[FaultKind] = DEFAULT_KINDS,
    *,
    after_running: Iterable[bool] = (False,),
    shortened_to: timedelta | None = None,
) -> list[SagaFailure]:
    """Every failure point: each forward step (in order) by each kind of fault.

    Args:
        forward_steps: the saga's forward steps in the order the workflow runs them.
        kinds: fault kinds as in ``fault_plans``, by name or as the functions of
            ``pytest_temporal_agents.faults`` (``non_retryable_error``, ``retryable_error``,
            ``start_to_close_timeout``, ``heartbeat_timeout``, ``schedule_to_close_timeout``,
            ``cancellation``), or functions of a step's name returning a fault.
        after_running: ``(False, True)`` also explores faults that strike after the step's
            effect happened (its result lost), the failure a saga most often mishandles.
        shortened_to: the timeout injected timeouts shorten the call to (faults' default if
            None); each failed attempt waits this long in real time.

    Raises:
        HarnessUsageError: no steps, or a kind that cannot fail a step for good.
    """
    if isinstance(forward_steps, (str, bytes)) or not forward_steps:
        raise HarnessUsageError(NO_STEPS.format(value=forward_steps))
    names = [step_ref(s).name for s in forward_steps]
    kinds = [_phrase_of(kind) for kind in kinds]
    for kind in kinds:
        _check_kind(kind)
    variants = sorted({bool(lost) for lost in after_running})
    points = []
    for index, name in enumerate(names):
        for kind in kinds:
            label = kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))
            # A fault built by a function strikes however it says; a schedule-to-close
            # timeout or a cancellation cannot strike after the step ran.
            losses = variants if isinstance(kind, str) and kind not in _NOT_AFTER else [False]
            for lost in losses:
                fault = _fault(kind, name, lost, shortened_to)
                points.append(SagaFailure(name, label, fault, tuple(names[:index]), lost))
    return points


def _choices() -> str:
    return ", ".join(repr(k) for k in (*_FIRST_ATTEMPT, *_EVERY_ATTEMPT))


def _phrase_of(kind: FaultKind) -> FaultKind:
    """A fault function of the vocabulary (``faults.retryable_error``) stands for its phrase."""
    from ..faults import PHRASES

    if callable(kind):
        for phrase, function in PHRASES.items():
            if function is kind:
                return phrase
    return kind


def _check_kind(kind: FaultKind) -> None:
    if callable(kind):
        return
    if kind == "worker_crash":
        reason = "a worker crash does not fail a step (the workflow resumes); explore crashes with fault_plans()."
    elif kind == "error_of_type":
        reason = "error_of_type needs a type: pass a function that builds the fault."
    elif kind in (*_FIRST_ATTEMPT, *_EVERY_ATTEMPT):
        return
    else:
        reason = "not a fault kind."
    raise HarnessUsageError(BAD_KIND.format(value=kind, reason=reason, choices=_choices()))


def _fault(kind: FaultKind, step: str, after_running: bool, shortened_to: timedelta | None) -> Any:
    from .. import faults

    if callable(kind):
        return kind(step)
    options: dict[str, Any] = {"attempts": [1] if kind in _FIRST_ATTEMPT else faults.EVERY_ATTEMPT}
    if kind in _TIMEOUTS and shortened_to is not None:
        options["shortened_to"] = shortened_to
    if after_running:
        options["after_running"] = True
    return faults.PHRASES[kind](step, **options)


__all__ = ["DEFAULT_KINDS", "SagaFailure", "saga_failure_points"]
