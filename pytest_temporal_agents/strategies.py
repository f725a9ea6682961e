"""Hypothesis strategies for Temporal tests: fault plans and saga failure points.

``fault_plans(...)`` draws a :class:`~pytest_temporal_agents.faults.FaultPlan`: up to
``max_faults`` faults of the given kinds on the given activities. Hypothesis shrinks a
failing plan towards fewer faults, earlier kinds (in the order given), lower attempt
numbers and plain (not ``after_running``) faults, so the example it reports is the
smallest plan that still breaks the property::

    @given(plan=fault_plans(activities=[reserve_capital, place_order], max_faults=2))
    @settings(max_examples=100)
    async def test_ledger_is_conserved(temporal, plan):
        async with temporal.isolated() as t:  # each example: own task queue, mocks, faults
            t.inject(plan)
            ...

The plugin lets ``@given`` tests take the ``temporal`` fixture without the
function-scoped-fixture health check and without a deadline; see docs/how-to/faults.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from . import faults
from ._errors import HarnessUsageError
from ._sdk import activity_name
from .faults import PHRASES, Fault, FaultPlan
from .saga import DEFAULT_KINDS, FaultKind, SagaFailure, saga_failure_points

#: Kinds drawn by default: the ones that cost no real time. Timeouts and cancellations
#: wait out a shortened timeout (about 0.25 s each), so ask for them explicitly.
FAST_KINDS: tuple[str, ...] = ("retryable_error", "non_retryable_error", "worker_crash")

NO_ACTIVITIES = """\
fault_plans(activities={value!r}) needs at least one activity (function or registered name)."""

UNKNOWN_KIND = """\
fault_plans(kinds=...) got {value!r}, which is not a fault kind.
Valid kinds: {valid} (as names or as the functions from pytest_temporal_agents.faults)."""

NEEDS_TYPES = """\
fault_plans(kinds=[..., "error_of_type"]) needs error_types=[...]: the ApplicationError types to
draw, e.g. the retry policy's non_retryable_error_types."""

BAD_SIZES = """\
fault_plans(max_faults={max_faults!r}, max_attempt={max_attempt!r}) is invalid: max_faults is a count
>= 0 and max_attempt an attempt number >= 1."""


def fault_plans(
    activities: Sequence[Callable[..., Any] | str],
    *,
    max_faults: int = 3,
    kinds: Sequence[str | Callable[..., Fault]] = FAST_KINDS,
    max_attempt: int = 3,
    error_types: Sequence[str] = (),
    min_faults: int = 0,
    after_running: bool = True,
) -> st.SearchStrategy[FaultPlan]:
    """A strategy of fault plans over ``activities``.

    Args:
        activities: the activities faults may hit (functions or registered names); worker
            crashes happen after one of them.
        max_faults: the most faults in one plan.
        kinds: fault kinds to draw, by name or function, mildest first (shrinking prefers
            earlier kinds). Default: :data:`FAST_KINDS`.
        max_attempt: highest attempt number a fault names; keep it within the activities'
            retry policies, or the plugin warns that an attempt never runs.
        error_types: ApplicationError types for ``error_of_type`` faults.
        min_faults: the fewest faults in one plan (0 lets the empty plan be drawn).
        after_running: also draw faults that strike after the activity ran (its result
            lost), the ones that test idempotency; False draws only faults that strike
            before the activity does anything.

    Returns:
        A strategy of :class:`~pytest_temporal_agents.faults.FaultPlan`.

    Raises:
        HarnessUsageError: no activities, an unknown kind, or bad sizes.
    """
    if not activities:
        raise HarnessUsageError(NO_ACTIVITIES.format(value=activities))
    if max_faults < 0 or min_faults < 0 or min_faults > max_faults or max_attempt < 1:
        raise HarnessUsageError(BAD_SIZES.format(max_faults=max_faults, max_attempt=max_attempt))
    names = list(dict.fromkeys(activity_name(a) for a in activities))
    lost = st.booleans() if after_running else st.just(False)
    drawn = [_kind_strategy(_kind_name(kind), names, max_attempt, list(error_types), lost) for kind in kinds]
    if not drawn:
        raise HarnessUsageError(UNKNOWN_KIND.format(value=kinds, valid=", ".join(PHRASES)))
    return st.lists(st.one_of(*drawn), min_size=min_faults, max_size=max_faults).map(
        lambda faults: FaultPlan(*faults, drawn=True)
    )


def _kind_name(kind: str | Callable[..., Fault]) -> str:
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
    if name not in PHRASES or (not isinstance(kind, str) and PHRASES[name] is not kind):
        raise HarnessUsageError(UNKNOWN_KIND.format(value=kind, valid=", ".join(PHRASES)))
    return name


def _kind_strategy(
    kind: str, names: list[str], max_attempt: int, error_types: list[str], lost: st.SearchStrategy[bool]
) -> st.SearchStrategy[Fault]:
    activity = st.sampled_from(names)
    # Several attempts drawn as one bitmask: it shrinks towards [1], and unlike st.sets()
    # it leaves hypothesis free to delete a whole fault from the plan while shrinking.
    several = st.integers(1, 2**max_attempt - 1).map(
        lambda mask: [n for n in range(1, max_attempt + 1) if mask >> (n - 1) & 1]
    )
    one = st.integers(1, max_attempt).map(lambda n: [n])
    if kind == "retryable_error":
        return st.builds(faults.retryable_error, activity, attempts=several, after_running=lost)
    if kind == "non_retryable_error":
        return st.builds(faults.non_retryable_error, activity, attempts=one, after_running=lost)
    if kind == "error_of_type":
        if not error_types:
            raise HarnessUsageError(NEEDS_TYPES)
        return st.builds(faults.error_of_type, activity, st.sampled_from(error_types), attempts=one, after_running=lost)
    if kind == "start_to_close_timeout":
        return st.builds(faults.start_to_close_timeout, activity, attempts=several, after_running=lost)
    if kind == "heartbeat_timeout":
        return st.builds(faults.heartbeat_timeout, activity, attempts=several, after_running=lost)
    if kind == "schedule_to_close_timeout":
        return st.builds(faults.schedule_to_close_timeout, activity)
    if kind == "cancellation":
        return st.builds(faults.cancellation, activity, attempts=one)
    return st.builds(lambda after: faults.worker_crash(after=after), activity)


# -- saga failures: each forward step of a saga failed for good by each kind of fault ---------
def saga_failures(
    forward_steps: Sequence[Any],
    *,
    kinds: Iterable[FaultKind] = DEFAULT_KINDS,
    after_running: Iterable[bool] = (False,),
    shortened_to: timedelta | float | None = None,
) -> st.SearchStrategy[SagaFailure]:
    """A strategy of saga failure points: each forward step failed for good by each kind.

    The points are few and hypothesis draws each once before it stops (it notices when it
    has tried every value), so a ``@given`` test explores every failure point, and a failing
    one is reported as, say, ``SagaFailure(at='place_order', kind='retryable_error')``::

        @given(failure=saga_failures(forward_steps=[reserve, place, confirm]))
        async def test_every_failure_is_undone(temporal, failure):
            async with temporal.isolated() as t:
                t.inject(failure.fault)
                handle = await t.start(...)
                await t.saga(handle, STEPS).assert_compensated(through=failure, invariant=...)

    Args:
        forward_steps: the saga's forward steps in the order the workflow runs them.
        kinds: fault kinds (names, or functions of ``pytest_temporal_agents.faults``) that
            fail a step for good: non-retryable kinds on its first attempt, retryable ones on
            every attempt (so the activity's retry policy must have a ``maximum_attempts``).
            Or functions of a step's registered name that return a fault. Default:
            ``non_retryable_error``, ``retryable_error``, ``start_to_close_timeout``.
        after_running: ``(False, True)`` also explores faults that strike after the step's
            effect happened, its result lost: the failure sagas most often leak on.
        shortened_to: the timeout injected timeouts shorten the call to (seconds or a
            timedelta); each failed attempt waits this long in real time.

    Returns:
        A strategy of :class:`~pytest_temporal_agents.SagaFailure`.

    Raises:
        HarnessUsageError: no steps, or a kind that cannot fail a step for good.
    """
    timeout = timedelta(seconds=shortened_to) if isinstance(shortened_to, (int, float)) else shortened_to
    points = saga_failure_points(forward_steps, kinds, after_running=after_running, shortened_to=timeout)
    return st.sampled_from(points)


__all__ = ["FAST_KINDS", "fault_plans", "saga_failures"]
