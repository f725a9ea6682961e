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

Model faults (the fake model server failing a model-calling activity's attempts: rate
limits, outages, cut streams) are drawn next to them for ``model_activities``::

    fault_plans(activities=[lookup_price], model_activities=[call_model])

hypothesis is the ``[property]`` extra (``pip install 'pytest-temporal-agents[property]'``);
importing this module without it is an error that says so.

The plugin lets ``@given`` tests take the ``temporal`` fixture without the
function-scoped-fixture health check and without a deadline; see docs/how-to/faults.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from ._errors import HarnessUsageError
from ._extras import PROPERTY, missing_extra

try:
    from hypothesis import strategies as st
except ImportError as _err:  # hypothesis is the [property] extra
    raise missing_extra(
        "hypothesis", extra=PROPERTY, feature="pytest_temporal_agents.strategies", reason=_err
    ) from None

from . import faults
from ._sdk import activity_name
from .faults import MODEL_PHRASES, PHRASES, Fault, FaultPlan
from .saga import DEFAULT_KINDS, FaultKind, SagaFailure, saga_failure_points

#: Kinds drawn by default: the ones that cost no real time. Timeouts and cancellations
#: wait out a shortened timeout (about 0.25 s each), so ask for them explicitly.
FAST_KINDS: tuple[str, ...] = ("retryable_error", "non_retryable_error", "worker_crash")

#: Model fault kinds drawn by default: the ones that cost no real time (a hang waits out a
#: shortened timeout; a malformed tool call needs ``tools=``).
FAST_MODEL_KINDS: tuple[str, ...] = ("model_error", "model_truncated")
#: Statuses ``model_error`` faults draw by default: rate limits and outages, which production
#: retries (a 400 or 401 is a bug or a bad key, not weather).
RATE_LIMITS_AND_OUTAGES: tuple[int, ...] = (429, 500, 503)

NO_ACTIVITIES = """\
fault_plans(activities={value!r}, model_activities={models!r}) needs at least one activity
(function or registered name) in either."""

MODEL_KIND_IN_KINDS = """\
fault_plans(kinds=[..., {value!r}]): {value!r} is a model fault; draw it for the model-calling
activities with fault_plans(model_activities=[...], model_kinds=[{value!r}])."""

UNKNOWN_MODEL_KIND = """\
fault_plans(model_kinds=...) got {value!r}, which is not a model fault kind.
Valid model kinds: {valid} (as names or as the functions from pytest_temporal_agents.faults)."""

NEEDS_TOOLS = """\
fault_plans(model_kinds=[..., "model_malformed_tool_call"]) needs tools=[...]: the names of the
tools the model calls with arguments that are not JSON."""

BAD_STATUSES = """\
fault_plans(model_statuses={value!r}) needs at least one HTTP error status (400 to 599)."""

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
    activities: Sequence[Callable[..., Any] | str] = (),
    *,
    max_faults: int = 3,
    kinds: Sequence[str | Callable[..., Fault]] = FAST_KINDS,
    max_attempt: int = 3,
    error_types: Sequence[str] = (),
    min_faults: int = 0,
    after_running: bool = True,
    model_activities: Sequence[Callable[..., Any] | str] = (),
    model_kinds: Sequence[str | Callable[..., Fault]] = FAST_MODEL_KINDS,
    model_statuses: Sequence[int] = RATE_LIMITS_AND_OUTAGES,
    model_retry_after: float | None = None,
    tools: Sequence[str] = (),
) -> st.SearchStrategy[FaultPlan]:
    """A strategy of fault plans over ``activities`` and ``model_activities``.

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
        model_activities: the model-calling activities model faults may hit: the fake
            model server (``fake_llm``) fails the requests their selected attempts make.
        model_kinds: model fault kinds to draw for them, mildest first. Default:
            :data:`FAST_MODEL_KINDS`.
        model_statuses: the HTTP statuses ``model_error`` faults draw from. Default:
            :data:`RATE_LIMITS_AND_OUTAGES` (429, 500, 503).
        model_retry_after: the ``retry-after`` seconds of drawn ``model_error`` faults. A
            client that retries by itself (openai and anthropic do, twice, by default)
            waits that long instead of its own backoff (about 0.5 s, then 1 s).
        tools: tool names ``model_malformed_tool_call`` faults draw from.

    Returns:
        A strategy of :class:`~pytest_temporal_agents.faults.FaultPlan`.

    Raises:
        HarnessUsageError: no activities, an unknown kind, or bad sizes.
    """
    if not activities and not model_activities:
        raise HarnessUsageError(NO_ACTIVITIES.format(value=activities, models=model_activities))
    if max_faults < 0 or min_faults < 0 or min_faults > max_faults or max_attempt < 1:
        raise HarnessUsageError(BAD_SIZES.format(max_faults=max_faults, max_attempt=max_attempt))
    lost = st.booleans() if after_running else st.just(False)
    drawn: list[st.SearchStrategy[Fault]] = []
    if activities:
        names = _names(activities)
        drawn += [_kind_strategy(_kind_name(kind), names, max_attempt, list(error_types), lost) for kind in kinds]
        if not drawn:
            raise HarnessUsageError(UNKNOWN_KIND.format(value=kinds, valid=", ".join(PHRASES)))
    if model_activities:
        models = _names(model_activities)
        if not model_kinds:
            raise HarnessUsageError(UNKNOWN_MODEL_KIND.format(value=model_kinds, valid=", ".join(MODEL_PHRASES)))
        if not model_statuses or not all(isinstance(s, int) and 400 <= s <= 599 for s in model_statuses):
            raise HarnessUsageError(BAD_STATUSES.format(value=model_statuses))
        drawn += [
            _model_kind_strategy(
                _model_kind_name(kind), models, max_attempt, list(model_statuses), model_retry_after, list(tools)
            )
            for kind in model_kinds
        ]
    return st.lists(st.one_of(*drawn), min_size=min_faults, max_size=max_faults).map(
        lambda faults: FaultPlan(*faults, drawn=True)
    )


def _names(activities: Sequence[Callable[..., Any] | str]) -> list[str]:
    return list(dict.fromkeys(activity_name(a) for a in activities))


def _kind_name(kind: str | Callable[..., Fault]) -> str:
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
    if name in MODEL_PHRASES:
        raise HarnessUsageError(MODEL_KIND_IN_KINDS.format(value=name))
    if name not in PHRASES or (not isinstance(kind, str) and PHRASES[name] is not kind):
        raise HarnessUsageError(UNKNOWN_KIND.format(value=kind, valid=", ".join(PHRASES)))
    return name


def _model_kind_name(kind: str | Callable[..., Fault]) -> str:
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
    if name not in MODEL_PHRASES or (not isinstance(kind, str) and MODEL_PHRASES[name] is not kind):
        raise HarnessUsageError(UNKNOWN_MODEL_KIND.format(value=kind, valid=", ".join(MODEL_PHRASES)))
    return name


def _attempt_sets(max_attempt: int) -> st.SearchStrategy[list[int]]:
    """Several attempts drawn as one bitmask: it shrinks towards [1], and unlike st.sets()
    it leaves hypothesis free to delete a whole fault from the plan while shrinking."""
    return st.integers(1, 2**max_attempt - 1).map(
        lambda mask: [n for n in range(1, max_attempt + 1) if mask >> (n - 1) & 1]
    )


def _kind_strategy(
    kind: str, names: list[str], max_attempt: int, error_types: list[str], lost: st.SearchStrategy[bool]
) -> st.SearchStrategy[Fault]:
    activity = st.sampled_from(names)
    several = _attempt_sets(max_attempt)
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


def _model_kind_strategy(
    kind: str, names: list[str], max_attempt: int, statuses: list[int], retry_after: float | None, tools: list[str]
) -> st.SearchStrategy[Fault]:
    activity = st.sampled_from(names)
    several = _attempt_sets(max_attempt)
    if kind == "model_error":
        status = st.sampled_from(statuses)
        return st.builds(faults.model_error, activity, status, attempts=several, retry_after=st.just(retry_after))
    if kind == "model_malformed_tool_call":
        if not tools:
            raise HarnessUsageError(NEEDS_TOOLS)
        return st.builds(faults.model_malformed_tool_call, activity, st.sampled_from(tools), attempts=several)
    if kind == "model_hang":
        return st.builds(faults.model_hang, activity, attempts=several)
    return st.builds(faults.model_truncated, activity, attempts=several)


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


__all__ = ["FAST_KINDS", "FAST_MODEL_KINDS", "RATE_LIMITS_AND_OUTAGES", "fault_plans", "saga_failures"]
