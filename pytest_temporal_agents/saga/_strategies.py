"""``saga_failures``: the hypothesis strategy of saga failure points.

Re-exported by :mod:`pytest_temporal_agents.strategies`; kept here, beside the failure
points it draws from, so that the saga feature stays in its own modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from ._failures import DEFAULT_KINDS, FaultKind, SagaFailure, saga_failure_points


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


__all__ = ["saga_failures"]
