"""``saga_failures``: every failure point explored, the saga invariant checked at each, and a
saga that leaks on a lost result caught and reported as its failure point."""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent

import pytest
from hypothesis import given, settings
from saga_workflows import STEPS, Agency, TripInput, TripSaga

from pytest_temporal_agents import (
    HarnessUsageError,
    SagaAssertionError,
    SagaFailure,
    TemporalHarness,
    saga_failure_points,
)
from pytest_temporal_agents.strategies import saga_failures

from pytester_support import SUPPORT, run_expecting

FORWARD = list(STEPS)


def test_hypothesis_draws_every_failure_point_once() -> None:
    drawn: list[SagaFailure] = []

    @settings(max_examples=100, database=None)
    @given(failure=saga_failures(forward_steps=FORWARD, kinds=["non_retryable_error", "retryable_error"]))
    def explore(failure: SagaFailure) -> None:
        drawn.append(failure)

    explore()

    assert sorted((f.step, f.kind) for f in drawn) == sorted(
        (step, kind) for step in ("book_flight", "book_hotel", "charge_card")
        for kind in ("non_retryable_error", "retryable_error")
    )


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(HarnessUsageError, match="a worker crash does not fail a step"):
        saga_failures(forward_steps=FORWARD, kinds=["worker_crash"])
    with pytest.raises(HarnessUsageError, match=r"shortened_to=.*greater than 0"):
        saga_failures(forward_steps=FORWARD, kinds=["start_to_close_timeout"], shortened_to=-1)


def agency_is_untouched(agency: Agency) -> None:
    state = agency.snapshot()
    assert (state.flights, state.hotels, state.charged - state.refunded) == ((), (), 0.0), state


@pytest.mark.parametrize("kind", ["non_retryable_error", "start_to_close_timeout"])
async def test_the_saga_invariant_holds_at_a_failure_point(temporal: TemporalHarness, kind: str) -> None:
    [failure] = [
        f
        for f in saga_failure_points(FORWARD, [kind], shortened_to=timedelta(milliseconds=50))
        if f.step == "charge_card"
    ]
    agency = Agency()
    temporal.inject(failure.fault)
    handle = await temporal.start(TripSaga.run, TripInput(compensation_attempts=2), activities=agency.activities())

    analysis = await temporal.saga(handle, STEPS).assert_compensated(
        through=failure, invariant=lambda: agency_is_untouched(agency)
    )

    assert [r.name for r in analysis.runs if r.compensated_by] == ["book_flight", "book_hotel"]


async def test_a_lost_result_leaks_and_the_invariant_says_what_was_left(temporal: TemporalHarness) -> None:
    [failure] = [
        f
        for f in saga_failure_points(FORWARD, ["non_retryable_error"], after_running=(True,))
        if f.step == "book_hotel"
    ]
    agency = Agency()
    temporal.inject(failure.fault)
    handle = await temporal.start(TripSaga.run, TripInput(), activities=agency.activities())

    with pytest.raises(SagaAssertionError) as error:
        await temporal.saga(handle, STEPS).assert_compensated(
            through=failure, invariant=lambda: agency_is_untouched(agency)
        )

    problems = [line for line in str(error.value).splitlines() if line.startswith("- ")]
    assert problems == [
        "- the state invariant failed: AgencyState(flights=(), hotels=('trip-1',), charged=0.0, refunded=0.0)"
    ]
    assert agency.hotels == {"trip-1"}  # booked, its result lost, never cancelled


INNER = dedent(
    """
    from hypothesis import given
    from saga_workflows import STEPS, Agency, TripInput, TripSaga
    from pytest_temporal_agents.strategies import saga_failures


    @given(failure=saga_failures(forward_steps=list(STEPS), kinds=["non_retryable_error"], after_running=(False, True)))
    async def test_every_failure_point_is_undone(temporal, failure):
        agency = Agency()
        async with temporal.isolated() as t:
            t.inject(failure.fault)
            handle = await t.start(TripSaga.run, TripInput(), activities=agency.activities())
            await t.saga(handle, STEPS).assert_compensated(
                through=failure, invariant=lambda: agency.snapshot().flights == ()
            )
    """
)


def test_a_leaking_saga_fails_the_property_at_its_smallest_failure_point(project: pytest.Pytester) -> None:
    project.makepyfile(saga_workflows=(SUPPORT / "saga_workflows.py").read_text())
    project.makepyfile(test_trip_property=INNER)

    result = run_expecting(project, "-p", "no:cacheprovider", failed=1)
    result.stdout.fnmatch_lines(
        [
            ("*SagaAssertionError: assert_compensated(through=SagaFailure(at='book_flight',"
            " kind='non_retryable_error', after_running=True)) failed for workflow *"),
            "*- the state invariant <lambda> returned False*",
            "*book_flight * failed: injected non_retryable_error in book_fl* (nothing to undo)*",
            # "Falsifying example:" up to hypothesis 6.16x, "Failing test case:" later
            "*: test_every_failure_point_is_undone(*",
            "*failure=SagaFailure(at='book_flight', kind='non_retryable_error', after_running=True),*",
        ]
    )
