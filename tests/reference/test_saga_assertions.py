"""The reference trade saga, checked with the plugin's saga assertions against the real ledger.

``test_wf_saga.py`` tests the saga's results and error details; this file checks the saga
itself: what completed, what was undone, in which order, that every compensation is harmless
twice, and, over every failure point, that the ledger ends where it started.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from reference_fixtures import AS_OF, FAST_RETRY, STARTING_CASH, rejecting_services

from pytest_temporal_agents import SagaFailure, TemporalHarness
from pytest_temporal_agents.faults import retryable_error
from pytest_temporal_agents.strategies import saga_failures
from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.broker import PaperBroker
from reference_workflows.market import MarketDataService
from reference_workflows.models import OrderStatus, ReservationStatus
from reference_workflows.workflows.saga import TradeSagaInput, TradeSagaWorkflow
from reference_workflows.workflows.trading import RetryOptions

#: The saga as the workflow runs it: the quote and the fill have nothing to undo.
STEPS = {
    MarketDataService.get_quote: None,
    PaperBroker.reserve_capital: PaperBroker.release_capital,
    PaperBroker.place_order: PaperBroker.cancel_order,
    PaperBroker.confirm_execution: None,
}
FORWARD = list(STEPS)
#: The saga pushes each compensation before its step runs, so a step that failed is
#: compensated too (its compensation finds nothing to undo when the step had no effect).
FAILED_STEPS = "compensated"


def trade(**fields: Any) -> TradeSagaInput:
    options: dict[str, Any] = {"retry": FAST_RETRY, "compensation_retry": FAST_RETRY, **fields}
    return TradeSagaInput("AAPL", quantity=10, as_of=AS_OF, **options)


def ledger_state(broker: PaperBroker) -> Callable[[], tuple[Any, ...]]:
    """A probe of everything a compensation could change in the ledger."""
    return lambda: (broker.snapshot(), broker.ledger.reservations(), broker.orders(), broker.fills())


def ledger_untouched(broker: PaperBroker) -> Callable[[], None]:
    """The saga invariant on the ledger: the starting cash, nothing reserved, held, open or filled."""

    def check() -> None:
        account = broker.snapshot()
        assert (account.cash, account.reserved, account.positions) == (STARTING_CASH, 0, []), account
        assert broker.open_reservations() == [], broker.open_reservations()
        assert broker.fills() == []
        still_open = [o for o in broker.orders() if o.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED)]
        assert still_open == [], still_open

    return check


async def test_a_filled_trade_is_a_completed_saga(temporal: TemporalHarness, services: ReferenceServices) -> None:
    handle = await temporal.start(TradeSagaWorkflow.run, trade(), activities=services.activities())

    analysis = await temporal.saga(handle, STEPS).assert_completed()

    assert [s.forward.name for s in analysis.completed_steps()] == [
        "get_quote",
        "reserve_capital",
        "place_order",
        "confirm_execution",
    ]
    assert analysis.compensations() == []


@pytest.mark.parametrize(("reject", "through"), [("place_order", "reserve_capital"), ("confirm_execution", "place_order")])
async def test_a_refusal_is_undone_in_reverse_and_the_ledger_restored(
    temporal: TemporalHarness, tmp_path: Path, reject: str, through: str
) -> None:
    services = rejecting_services(tmp_path / "ledger.sqlite3", reject)
    handle = await temporal.start(TradeSagaWorkflow.run, trade(), activities=services.activities())

    analysis = await temporal.saga(handle, STEPS, failed_steps=FAILED_STEPS).assert_compensated(
        through=through, invariant=ledger_untouched(services.broker)
    )

    # The refused order is compensated too: its cancel was registered before placing it,
    # and finds nothing to cancel when the venue refused it.
    undone = [(r.name, r.compensated_by.name) for r in analysis.runs if r.compensated_by]
    assert undone == [("reserve_capital", "release_capital"), ("place_order", "cancel_order")]
    [place] = [r for r in analysis.runs if r.name == "place_order"]
    assert place.completed is (reject != "place_order")


async def test_a_release_that_fails_twice_is_retried_and_counted_once(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    services = rejecting_services(tmp_path / "ledger.sqlite3", "confirm_execution")
    temporal.inject(retryable_error(PaperBroker.release_capital, attempts=[1, 2]))
    patient = RetryOptions(
        initial_interval_seconds=0.01, backoff_coefficient=1.0, maximum_interval_seconds=0.01, maximum_attempts=5
    )
    handle = await temporal.start(
        TradeSagaWorkflow.run, trade(compensation_retry=patient), activities=services.activities()
    )

    analysis = await temporal.saga(handle, STEPS, failed_steps=FAILED_STEPS).assert_compensated(
        through=PaperBroker.place_order, invariant=ledger_untouched(services.broker)
    )

    [reserve] = [r for r in analysis.runs if r.name == "reserve_capital"]
    assert reserve.compensated_by is not None and reserve.compensated_by.attempt == 3
    temporal.assert_attempts(PaperBroker.release_capital, failed=[1, 2], succeeded=3)
    [reservation] = services.broker.ledger.reservations()
    assert reservation.status is ReservationStatus.RELEASED


async def test_the_brokers_compensations_are_idempotent(temporal: TemporalHarness, tmp_path: Path) -> None:
    services = rejecting_services(tmp_path / "ledger.sqlite3", "confirm_execution")
    handle = await temporal.start(TradeSagaWorkflow.run, trade(), activities=services.activities())
    saga = temporal.saga(handle, STEPS, failed_steps=FAILED_STEPS)

    reruns = await saga.assert_idempotent_compensations(ledger_state(services.broker), repeat=2)

    assert [r.compensation for r in reruns] == ["cancel_order", "cancel_order", "release_capital", "release_capital"]
    assert all(r.error is None and not r.changed for r in reruns)
    await saga.assert_compensated(through=PaperBroker.place_order, invariant=ledger_untouched(services.broker))


@given(
    failure=saga_failures(
        forward_steps=FORWARD,
        kinds=["non_retryable_error", "retryable_error", "start_to_close_timeout"],
        shortened_to=0.05,
    )
)
async def test_every_failure_point_leaves_the_ledger_as_it_started(
    temporal: TemporalHarness, tmp_path: Path, failure: SagaFailure
) -> None:
    # A fresh ledger per example: hypothesis runs every example in this one test function.
    services = create_services(ledger_path=tmp_path / f"ledger-{uuid.uuid4().hex[:8]}.sqlite3")
    async with temporal.isolated("saga") as t:
        t.inject(failure.fault)
        handle = await t.start(TradeSagaWorkflow.run, trade(), activities=services.activities())

        await t.saga(handle, STEPS, failed_steps=FAILED_STEPS).assert_compensated(through=failure, invariant=ledger_untouched(services.broker))
