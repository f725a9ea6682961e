"""Each saga assertion in a user's test run: how a pass and a failure read (pytester)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from pytester_support import SUPPORT, run_expecting

INNER = dedent(
    """
    from saga_workflows import STEPS, Agency, TripInput, TripSaga


    async def trip(temporal, agency, **fields):
        handle = await temporal.start(TripSaga.run, TripInput(**fields), activities=agency.activities())
        return temporal.saga(handle, STEPS)


    async def test_completed_passes(temporal):
        await (await trip(temporal, Agency())).assert_completed()


    async def test_completed_fails(temporal):
        await (await trip(temporal, Agency(refuse={"book_hotel"}))).assert_completed()


    async def test_compensated_passes(temporal):
        agency = Agency(refuse={"charge_card"})
        saga = await trip(temporal, agency)
        await saga.assert_compensated(through=Agency.book_hotel, invariant=lambda: agency.flights == set())


    async def test_compensated_fails(temporal):
        await (await trip(temporal, Agency(refuse={"charge_card"}), bug="forward_order")).assert_compensated()


    async def test_compensated_through_fails(temporal):
        await (await trip(temporal, Agency(refuse={"book_hotel"}))).assert_compensated(through=Agency.book_hotel)


    async def test_idempotent_passes(temporal):
        agency = Agency()
        await (await trip(temporal, agency, call_off=True)).assert_idempotent_compensations(agency.snapshot)


    async def test_idempotent_fails(temporal):
        agency = Agency(refunds_are_idempotent=False)
        await (await trip(temporal, agency, call_off=True)).assert_idempotent_compensations(agency.snapshot)
    """
)


def test_each_assertion_passes_or_fails_with_one_line_per_problem_above_the_table(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(saga_workflows=(SUPPORT / "saga_workflows.py").read_text())
    project.makepyfile(test_trips=INNER)

    result = run_expecting(project, passed=3, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ test_completed_fails _*",
            "E * assert_completed() failed for workflow '*-tripsaga-1' (TripSaga, failed):",
            "E       - book_hotel did not complete: failed: book_hotel refused [SoldOut, non-retryable] (events #11-#13)",
            "E       - charge_card never ran",
            "E       - cancel_flight ran (events #17-#19, completed) to undo book_flight: a completed saga undoes nothing",
            "E       Forward steps and their compensations (event ids, workflow time since start, outcome):",
            "E         forward step  events   at * outcome * | compensation   events   at * outcome",
            "E         book_flight   #5-#7    +*s  completed*| cancel_flight  #17-#19  +*s  completed",
            "E         book_hotel    #11-#13  +*s  failed: book_hotel refused *| - * (nothing to undo)",
            "E         charge_card * never ran *| - * (the step never ran)",
            "*_ test_compensated_fails _*",
            "E * assert_compensated() failed for workflow '*' (TripSaga, failed):",
            ("E       - cancel_flight (undoing book_flight, events #23-#25) started before cancel_hotel (undoing"
            " book_hotel, which ran after book_flight) completed (event #31): compensations must run in reverse order"),
            "*_ test_compensated_through_fails _*",
            "E * assert_compensated(through=book_hotel) failed for workflow '*' (TripSaga, failed):",
            ("E       - book_hotel should have completed before the saga failed (through=book_hotel), but failed:"
            " book_hotel refused [SoldOut, non-retryable]"),
            "E         book_flight   #5-#7 * completed*| cancel_flight  #17-#19 * completed",
            "*_ test_idempotent_fails _*",
            "E * assert_idempotent_compensations() failed for workflow '*' (TripSaga, failed):",
            ("E       - re-running refund_card(Booking(trip='trip-1', item='charge_card')) (undoing charge_card,"
            " first run events #23-#25) changed the state: refunded 100.0 -> 200.0; a compensation delivered"
            " twice must change nothing the second time"),
            "E         charge_card   #17-#19 * completed*| refund_card    #23-#25 * completed",
        ]
    )
    # The failed assertion is the test's only failure: nothing more at teardown.
    assert "at teardown" not in result.stdout.str()
