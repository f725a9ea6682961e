"""A trip booked as a saga: the workflow that docs/how-to/sagas.md tests.

Book a flight, book a hotel, charge the card; if a step fails, undo the steps that
completed, last first. ``Bookings`` stands in for the airline, hotel and card systems, so a
test can read (and probe) what the activities did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError


@dataclass
class Trip:
    trip_id: str
    price: float = 450.0


@dataclass
class Bookings:
    flights: set[str] = field(default_factory=set)
    hotels: set[str] = field(default_factory=set)
    charged: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> tuple[frozenset[str], frozenset[str], dict[str, float]]:
        return frozenset(self.flights), frozenset(self.hotels), dict(self.charged)

    @activity.defn
    async def book_flight(self, trip: Trip) -> str:
        self.flights.add(trip.trip_id)
        return f"flight-{trip.trip_id}"

    @activity.defn
    async def cancel_flight(self, trip: Trip) -> None:
        self.flights.discard(trip.trip_id)  # cancelling twice changes nothing

    @activity.defn
    async def book_hotel(self, trip: Trip) -> str:
        self.hotels.add(trip.trip_id)
        return f"hotel-{trip.trip_id}"

    @activity.defn
    async def cancel_hotel(self, trip: Trip) -> None:
        self.hotels.discard(trip.trip_id)

    @activity.defn
    async def charge_card(self, trip: Trip) -> float:
        self.charged[trip.trip_id] = trip.price
        return trip.price

    def activities(self) -> list[object]:
        return [
            self.book_flight,
            self.cancel_flight,
            self.book_hotel,
            self.cancel_hotel,
            self.charge_card,
        ]


STEP = {
    "start_to_close_timeout": timedelta(seconds=30),
    # Bounded, so that a step failing every attempt fails the saga instead of retrying forever.
    "retry_policy": RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3),
}


@workflow.defn
class BookTrip:
    @workflow.run
    async def run(self, trip: Trip) -> str:
        undo: list[object] = []
        try:
            flight = await workflow.execute_activity_method(Bookings.book_flight, trip, **STEP)
            undo.append(Bookings.cancel_flight)
            hotel = await workflow.execute_activity_method(Bookings.book_hotel, trip, **STEP)
            undo.append(Bookings.cancel_hotel)
            await workflow.execute_activity_method(Bookings.charge_card, trip, **STEP)
        except ActivityError as error:
            for compensation in reversed(undo):
                await workflow.execute_activity_method(compensation, trip, **STEP)  # type: ignore[call-overload]
            raise ApplicationError(f"trip {trip.trip_id} not booked: {error.cause}", non_retryable=True) from error
        return f"{flight}, {hotel}"
