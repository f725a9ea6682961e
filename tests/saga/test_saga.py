"""Saga assertions on real histories: each assertion against a workflow with and without the bug."""

from __future__ import annotations

import re

import pytest
from saga_workflows import (
    STEPS,
    Agency,
    CancelFlightWorkflow,
    ChildUndoTripSaga,
    ParallelTripSaga,
    TripInput,
    TripSaga,
)
from temporalio.client import WorkflowHandle

from pytest_temporal_agents import HarnessUsageError, SagaAssertionError, TemporalHarness


async def start_trip(temporal: TemporalHarness, agency: Agency, **fields: object) -> WorkflowHandle[TripSaga, list[str]]:
    return await temporal.start(TripSaga.run, TripInput(**fields), activities=agency.activities())  # type: ignore[arg-type]


async def test_a_completed_saga_passes_assert_completed_and_fails_assert_compensated(
    temporal: TemporalHarness,
) -> None:
    agency = Agency()
    handle = await start_trip(temporal, agency)
    saga = temporal.saga(handle, STEPS)

    analysis = await saga.assert_completed()

    assert [s.forward.name for s in analysis.completed_steps()] == ["book_flight", "book_hotel", "charge_card"]
    with pytest.raises(SagaAssertionError) as failure:
        await saga.assert_compensated()
    message = str(failure.value)
    assert message.startswith(f"assert_compensated() failed for workflow {handle.id!r} (TripSaga, completed):\n")
    assert "- book_flight completed (events #5-#7) but was never compensated: cancel_flight did not run for it" in message
    assert message.count("NOT COMPENSATED") == 3


async def test_a_failure_undone_in_reverse_passes_assert_compensated_through_the_last_step(
    temporal: TemporalHarness,
) -> None:
    agency = Agency(refuse={"charge_card"})
    handle = await start_trip(temporal, agency)
    saga = temporal.saga(handle, STEPS)

    analysis = await saga.assert_compensated(
        through=Agency.book_hotel, invariant=lambda: agency.snapshot().flights == ()
    )

    assert [(r.name, r.compensated_by.name if r.compensated_by else None) for r in analysis.runs] == [
        ("book_flight", "cancel_flight"),
        ("book_hotel", "cancel_hotel"),
        ("charge_card", None),
    ]
    with pytest.raises(SagaAssertionError, match="- charge_card did not complete: failed: charge_card refused"):
        await saga.assert_completed()
    with pytest.raises(SagaAssertionError) as failure:
        await saga.assert_compensated(through=Agency.book_flight, invariant=lambda: agency.charged == 100.0)
    problems = [line for line in str(failure.value).splitlines() if line.startswith("- ")]
    assert problems == [
        "- book_hotel completed, but the saga should have failed before it (through=book_flight)",
        "- the state invariant <lambda> returned False",
    ]


@pytest.mark.parametrize(
    ("bug", "problem"),
    [
        (
            "forward_order",
            ("- cancel_flight (undoing book_flight, events #23-#25) started before cancel_hotel (undoing "
            "book_hotel, which ran after book_flight) completed (event #31): compensations must run in reverse order"),
        ),
        ("forget_first", "- book_flight completed (events #5-#7) but was never compensated: cancel_flight did not run for it"),
        (
            "twice",
            ("- cancel_hotel ran again (events #29-#31): book_hotel was already compensated (events #23-#25), "
            "and a step is compensated exactly once"),
        ),
        (
            "undo_failed",
            ("- refund_card ran (events #23-#25, completed) to undo charge_card, which never completed "
            "(failed: charge_card refused [SoldOut, non-retryable]): nothing to undo. If the step may have "
            "half-happened, declare failed_steps='compensated' or 'either'"),
        ),
    ],
)
async def test_each_way_of_compensating_wrongly_is_one_problem_line(
    temporal: TemporalHarness, bug: str, problem: str
) -> None:
    handle = await start_trip(temporal, Agency(refuse={"charge_card"}), bug=bug)

    with pytest.raises(SagaAssertionError) as failure:
        await temporal.saga(handle, STEPS).assert_compensated()

    assert [line for line in str(failure.value).splitlines() if line.startswith("- ")] == [problem]


async def test_undoing_a_step_that_never_ran_is_reported(temporal: TemporalHarness) -> None:
    handle = await start_trip(temporal, Agency(refuse={"book_hotel"}), bug="undo_unbooked")

    with pytest.raises(SagaAssertionError) as failure:
        await temporal.saga(handle, STEPS).assert_compensated(through=Agency.book_flight)

    message = str(failure.value)
    assert "- refund_card ran (events #23-#25, completed) but charge_card never ran: nothing to undo" in message
    assert "(no charge_card left to undo)" in message  # its row in the table
    assert re.search(r"\n  charge_card +never ran", message)


async def test_a_compensation_the_server_retried_counts_once(temporal: TemporalHarness) -> None:
    agency = Agency(refuse={"charge_card"}, cancel_flight_failures=2)
    handle = await start_trip(temporal, agency)

    analysis = await temporal.saga(handle, STEPS).assert_compensated(through=Agency.book_hotel)

    [flight] = [r for r in analysis.runs if r.name == "book_flight"]
    assert flight.compensated_by is not None and flight.compensated_by.attempt == 3
    assert "completed at attempt 3" in await temporal.saga(handle, STEPS).report()
    assert agency.flights == set()


async def test_a_compensation_that_never_succeeds_is_reported(temporal: TemporalHarness) -> None:
    agency = Agency(refuse={"charge_card"}, cancel_flight_failures=5)
    handle = await start_trip(temporal, agency, compensation_attempts=2)

    with pytest.raises(SagaAssertionError) as failure:
        await temporal.saga(handle, STEPS).assert_compensated()

    assert [line for line in str(failure.value).splitlines() if line.startswith("- ")] == [
        ("- cancel_flight never succeeded in undoing book_flight (completed, events #5-#7): failed at attempt 2: "
        "the airline is busy [AirlineBusy] (events #29-#31)")
    ]


async def test_parallel_steps_impose_no_order_unless_a_dependency_is_declared(temporal: TemporalHarness) -> None:
    handle = await temporal.start(
        ParallelTripSaga.run, TripInput(), activities=Agency(refuse={"charge_card"}).activities()
    )

    await temporal.saga(handle, STEPS).assert_compensated(through=Agency.book_hotel)
    # Declared: the hotel needs the flight, so the hotel must be cancelled first, and
    # booked only after the flight: both broken by this workflow.
    declared = temporal.saga(handle, STEPS, depends_on={Agency.book_hotel: Agency.book_flight})
    with pytest.raises(SagaAssertionError) as failure:
        await declared.assert_compensated()
    problems = [line for line in str(failure.value).splitlines() if line.startswith("- ")]
    assert len(problems) == 2
    assert problems[0].startswith("- cancel_flight (undoing book_flight, events ")
    assert "started before cancel_hotel (undoing book_hotel, which ran after book_flight) completed" in problems[0]
    assert problems[1].startswith("- book_hotel was scheduled (event #") and problems[1].endswith(
        "before book_flight, which it depends on, had completed"
    )


async def test_a_compensation_run_as_a_child_workflow(temporal: TemporalHarness) -> None:
    agency = Agency(refuse={"book_hotel"})
    handle = await temporal.start(
        ChildUndoTripSaga.run,
        TripInput(),
        workflows=[ChildUndoTripSaga, CancelFlightWorkflow],
        activities=agency.activities(),
    )
    saga = temporal.saga(handle, {Agency.book_flight: CancelFlightWorkflow, Agency.book_hotel: Agency.cancel_hotel})

    analysis = await saga.assert_compensated(through=Agency.book_flight)

    [flight, _] = analysis.runs
    assert flight.compensated_by is not None and flight.compensated_by.kind == "workflow"
    assert flight.compensated_by.id == f"{handle.id}-undo-flight"
    reruns = await saga.assert_idempotent_compensations(agency.snapshot)
    assert [(r.compensation, r.changed, r.error) for r in reruns] == [("CancelFlightWorkflow", False, None)]


async def test_idempotent_compensations_are_re_run_with_their_decoded_input(temporal: TemporalHarness) -> None:
    agency = Agency(refuse={"charge_card"})
    handle = await start_trip(temporal, agency, call_off=False)
    saga = temporal.saga(handle, STEPS)

    reruns = await saga.assert_idempotent_compensations(agency.snapshot, repeat=2)

    assert [(r.compensation, r.undoing) for r in reruns] == [
        ("cancel_hotel", "book_hotel"),
        ("cancel_hotel", "book_hotel"),
        ("cancel_flight", "book_flight"),
        ("cancel_flight", "book_flight"),
    ]
    assert reruns[0].args[0].__class__.__name__ == "Booking"  # decoded to the declared type
    assert reruns[0].args[0].item == "book_hotel" and not any(r.changed for r in reruns)


async def test_a_compensation_that_applies_twice_is_not_idempotent(temporal: TemporalHarness) -> None:
    agency = Agency(refunds_are_idempotent=False)
    handle = await start_trip(temporal, agency, call_off=True)
    saga = temporal.saga(handle, STEPS)
    await saga.assert_compensated(through=Agency.charge_card)

    with pytest.raises(SagaAssertionError) as failure:
        await saga.assert_idempotent_compensations(agency.snapshot)

    problems = [line for line in str(failure.value).splitlines() if line.startswith("- ")]
    assert problems == [
        ("- re-running refund_card(Booking(trip='trip-1', item='charge_card')) (undoing charge_card, first run "
        "events #23-#25) changed the state: refunded 100.0 -> 200.0; a compensation delivered twice must "
        "change nothing the second time")
    ]
    assert agency.refunded == 200.0


async def test_idempotency_needs_a_compensation_that_ran_and_an_activity_it_can_run(
    temporal: TemporalHarness,
) -> None:
    agency = Agency()
    completed = await start_trip(temporal, agency)
    with pytest.raises(SagaAssertionError, match="- no compensation of this saga completed, so there is nothing to re-run"):
        await temporal.saga(completed, STEPS).assert_idempotent_compensations(agency.snapshot)

    other = Agency(refuse={"book_hotel"})
    handle = await temporal.start(
        TripSaga.run, TripInput(), id=temporal.new_workflow_id("other"), task_queue=f"{temporal.task_queue}-2",
        activities=other.activities(),
    )
    saga = temporal.saga(handle, STEPS)
    await saga.assert_compensated()
    temporal._lifecycle.saga.activities.pop("cancel_flight")  # as if another worker had served it
    with pytest.raises(HarnessUsageError, match=r"(?s)cannot re-run 'cancel_flight'.*activities=\[cancel_flight\]"):
        await saga.assert_idempotent_compensations(other.snapshot)
    reruns = await saga.assert_idempotent_compensations(other.snapshot, activities=[other.cancel_flight])
    assert [r.compensation for r in reruns] == ["cancel_flight"]


async def test_usage_errors_are_raised_when_declared(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="give a mapping of each forward step"):
        temporal.saga("some-id", [Agency.book_flight])  # type: ignore[list-item]
    with pytest.raises(HarnessUsageError, match="repeat=0"):
        await temporal.saga("x", STEPS, wait=False).assert_idempotent_compensations(lambda: 1, repeat=0)
