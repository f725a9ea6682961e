"""Small sagas for the saga-assertion tests: a trip booked in three steps, each undoable.

``Agency`` holds the state the activities change (what is booked, what was charged), so a
test reads it as ground truth and probes it for idempotency. ``TripInput.bug`` makes the
workflow compensate wrongly in one named way, so that each assertion's failure is tested
against a workflow that really has the bug.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

#: The ways TripSaga can compensate wrongly (TripInput.bug).
BUGS = ("forward_order", "forget_first", "twice", "undo_failed", "undo_unbooked")


@dataclass
class Booking:
    trip: str
    item: str


@dataclass
class TripInput:
    trip: str = "trip-1"
    call_off: bool = False
    """Fail after every step completed: everything is undone."""
    bug: str | None = None
    compensation_attempts: int = 5


@dataclass
class AgencyState:
    flights: tuple[str, ...]
    hotels: tuple[str, ...]
    charged: float
    refunded: float


@dataclass
class Agency:
    """The bookings and the card: what the activities change."""

    flights: set[str] = field(default_factory=set)
    hotels: set[str] = field(default_factory=set)
    charged: float = 0.0
    refunded: float = 0.0
    refunds_are_idempotent: bool = True
    cancel_flight_failures: int = 0
    """The next this many cancel_flight attempts fail (retryably)."""
    refuse: set[str] = field(default_factory=set)
    """Forward steps that fail for good (non-retryable), as a sold-out hotel would."""
    refunds: set[str] = field(default_factory=set)

    def _check(self, step: str) -> None:
        if step in self.refuse:
            raise ApplicationError(f"{step} refused", type="SoldOut", non_retryable=True)

    def snapshot(self) -> AgencyState:
        return AgencyState(tuple(sorted(self.flights)), tuple(sorted(self.hotels)), self.charged, self.refunded)

    @activity.defn
    async def book_flight(self, booking: Booking) -> str:
        self._check("book_flight")
        self.flights.add(booking.trip)
        return f"flight-{booking.trip}"

    @activity.defn
    async def book_hotel(self, booking: Booking) -> str:
        self._check("book_hotel")
        self.hotels.add(booking.trip)
        return f"hotel-{booking.trip}"

    @activity.defn
    async def charge_card(self, booking: Booking) -> float:
        self._check("charge_card")
        self.charged += 100.0
        return 100.0

    @activity.defn
    async def cancel_flight(self, booking: Booking) -> None:
        if self.cancel_flight_failures > 0:
            self.cancel_flight_failures -= 1
            raise ApplicationError("the airline is busy", type="AirlineBusy")
        self.flights.discard(booking.trip)

    @activity.defn
    async def cancel_hotel(self, booking: Booking) -> None:
        self.hotels.discard(booking.trip)

    @activity.defn
    async def refund_card(self, booking: Booking) -> None:
        if self.refunds_are_idempotent and booking.trip in self.refunds:
            return
        self.refunds.add(booking.trip)
        self.refunded += 100.0

    def activities(self) -> list[object]:
        """Every forward step and every compensation in ``STEPS``, bound to this agency."""
        return [getattr(self, method.__name__) for method in (*STEPS, *STEPS.values())]


#: The trip's forward steps, in order, each with the compensation that undoes it (the
#: ``steps`` the tests give ``temporal.saga()``).
STEPS = {
    Agency.book_flight: Agency.cancel_flight,
    Agency.book_hotel: Agency.cancel_hotel,
    Agency.charge_card: Agency.refund_card,
}
FORWARD = {step.__name__: step for step in STEPS}
UNDO = {step.__name__: undo for step, undo in STEPS.items()}

OPTIONS = {"start_to_close_timeout": timedelta(seconds=10)}


def _fast_retry(attempts: int) -> RetryPolicy:
    return RetryPolicy(initial_interval=timedelta(milliseconds=1), backoff_coefficient=1.0, maximum_attempts=attempts)


#: Forward steps: two quick attempts, so a step failing every attempt fails the saga.
STEP_OPTIONS = {**OPTIONS, "retry_policy": _fast_retry(2)}


@workflow.defn
class TripSaga:
    """Book flight, hotel, charge the card; on failure undo what was done, last first."""

    def __init__(self) -> None:
        self.failed: str | None = None

    @workflow.run
    async def run(self, trip: TripInput) -> list[str]:
        done: list[str] = []
        failed: str | None = None
        try:
            for step, activity_method in FORWARD.items():
                failed = step
                await workflow.execute_activity_method(activity_method, Booking(trip.trip, step), **STEP_OPTIONS)
                done.append(step)
            failed = None
            if trip.call_off:
                raise ApplicationError("the trip was called off", type="CalledOff")
        except (ActivityError, ApplicationError) as error:
            self.failed = failed
            await self.compensate(trip, done)
            raise ApplicationError(f"trip {trip.trip} undone: {error}", non_retryable=True) from error
        return done

    async def compensate(self, trip: TripInput, done: list[str]) -> None:
        order = list(reversed(done))
        if trip.bug == "forward_order":
            order = list(done)
        elif trip.bug == "forget_first" and order:
            order = order[:-1]
        elif trip.bug == "twice" and order:
            order = [order[0], *order]
        elif trip.bug == "undo_failed" and self.failed:
            order = [self.failed, *order]
        elif trip.bug == "undo_unbooked":
            order = [*order, *(s for s in FORWARD if s not in done and s != self.failed)]
        for step in order:
            await workflow.execute_activity_method(
                UNDO[step],
                Booking(trip.trip, step),
                retry_policy=_fast_retry(trip.compensation_attempts),
                **OPTIONS,
            )


@workflow.defn
class ParallelTripSaga:
    """Flight and hotel booked at the same time, then the card; undone in parallel."""

    @workflow.run
    async def run(self, trip: TripInput) -> None:
        booking = Booking(trip.trip, "trip")
        await asyncio.gather(
            workflow.execute_activity_method(Agency.book_flight, booking, **OPTIONS),
            workflow.execute_activity_method(Agency.book_hotel, booking, **OPTIONS),
        )
        try:
            await workflow.execute_activity_method(Agency.charge_card, booking, **OPTIONS)
            return
        except ActivityError:
            pass
        # The card is declined; hotel and flight are independent: undo both at once.
        await asyncio.gather(
            workflow.execute_activity_method(Agency.cancel_hotel, booking, **OPTIONS),
            workflow.execute_activity_method(Agency.cancel_flight, booking, **OPTIONS),
        )
        raise ApplicationError("card declined: trip undone", non_retryable=True)


@workflow.defn
class CancelFlightWorkflow:
    """A compensation run as a child workflow (it could call several activities)."""

    @workflow.run
    async def run(self, booking: Booking) -> None:
        await workflow.execute_activity_method(Agency.cancel_flight, booking, **OPTIONS)


@workflow.defn
class ChildUndoTripSaga:
    """Book the flight, fail to book the hotel, undo the flight with a child workflow."""

    @workflow.run
    async def run(self, trip: TripInput) -> None:
        booking = Booking(trip.trip, "trip")
        await workflow.execute_activity_method(Agency.book_flight, booking, **OPTIONS)
        try:
            await workflow.execute_activity_method(Agency.book_hotel, booking, **OPTIONS)
        except ActivityError:
            try:
                await workflow.execute_child_workflow(
                    CancelFlightWorkflow.run, booking, id=f"{workflow.info().workflow_id}-undo-flight"
                )
            except ChildWorkflowError:
                pass
            raise ApplicationError("no hotel: trip undone", non_retryable=True) from None
        await workflow.execute_activity_method(Agency.charge_card, booking, **OPTIONS)
