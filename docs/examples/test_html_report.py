"""Drawing workflows as the HTML report does, outside a pytest session (docs/how-to/html-report.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from trip_saga import Bookings, BookTrip, Trip

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import non_retryable_error
from pytest_temporal_agents.report import write_workflow_report


async def test_a_declined_card_drawn_as_a_page(temporal: TemporalHarness, tmp_path: Path) -> None:
    temporal.inject(non_retryable_error(Bookings.charge_card, type="CardDeclined"))
    handle = await temporal.start(BookTrip.run, Trip("t-1"), activities=Bookings().activities())
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    history = await temporal.history(handle)  # or History.load("saved.json")
    page = write_workflow_report([history], tmp_path / "trip.html", title="Trip t-1")

    html = page.read_text()
    assert 'data-workflow-type="BookTrip"' in html
    assert "CardDeclined" in html and "↩ compensation" in html  # the failure, and the undo
    assert "https://" not in html  # one self-contained file
