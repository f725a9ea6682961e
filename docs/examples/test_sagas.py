"""Testing sagas (docs/how-to/sagas.md)."""

from __future__ import annotations

from hypothesis import given
from trip_saga import Bookings, BookTrip, Trip

from pytest_temporal_agents import SagaFailure, TemporalHarness
from pytest_temporal_agents.faults import non_retryable_error, retryable_error
from pytest_temporal_agents.strategies import saga_failures

SAGA = {
    Bookings.book_flight: Bookings.cancel_flight,
    Bookings.book_hotel: Bookings.cancel_hotel,
    Bookings.charge_card: None,  # the last step: nothing after it can fail
}


async def test_a_booked_trip_is_a_completed_saga(temporal: TemporalHarness) -> None:
    bookings = Bookings()
    handle = await temporal.start(BookTrip.run, Trip("t-1"), activities=bookings.activities())

    await temporal.saga(handle, SAGA).assert_completed()


async def test_a_declined_card_undoes_the_trip(temporal: TemporalHarness) -> None:
    bookings = Bookings()
    temporal.inject(non_retryable_error(Bookings.charge_card, type="CardDeclined"))
    handle = await temporal.start(BookTrip.run, Trip("t-1"), activities=bookings.activities())

    await temporal.saga(handle, SAGA).assert_compensated(
        through=Bookings.book_hotel,
        invariant=lambda: bookings.snapshot() == (frozenset(), frozenset(), {}),
    )


async def test_a_cancellation_retried_by_the_server_counts_once(temporal: TemporalHarness) -> None:
    bookings = Bookings()
    temporal.inject(
        non_retryable_error(Bookings.charge_card),
        retryable_error(Bookings.cancel_hotel, attempts=[1, 2]),
    )
    handle = await temporal.start(BookTrip.run, Trip("t-1"), activities=bookings.activities())

    analysis = await temporal.saga(handle, SAGA).assert_compensated(through=Bookings.book_hotel)

    [_, hotel, _] = analysis.runs
    assert hotel.compensated_by is not None and hotel.compensated_by.attempt == 3


async def test_cancellations_are_idempotent(temporal: TemporalHarness) -> None:
    bookings = Bookings()
    temporal.inject(non_retryable_error(Bookings.charge_card))
    handle = await temporal.start(BookTrip.run, Trip("t-1"), activities=bookings.activities())

    await temporal.saga(handle, SAGA).assert_idempotent_compensations(probe=bookings.snapshot)


@given(failure=saga_failures(forward_steps=list(SAGA), kinds=["non_retryable_error", "retryable_error"]))
async def test_every_failure_point_is_undone(temporal: TemporalHarness, failure: SagaFailure) -> None:
    bookings = Bookings()
    async with temporal.isolated() as t:  # each example: its own task queue, faults, workers
        t.inject(failure.fault)
        handle = await t.start(BookTrip.run, Trip("t-1"), activities=bookings.activities())

        await t.saga(handle, SAGA).assert_compensated(
            through=failure,
            invariant=lambda: bookings.snapshot() == (frozenset(), frozenset(), {}),
        )
