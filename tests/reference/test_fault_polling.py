"""The order-polling workflow's timeout path, with status checks that time out on the way."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import EVERY_ATTEMPT, retryable_error, start_to_close_timeout
from reference_workflows.activities import create_services
from reference_workflows.broker import PaperBroker
from reference_workflows.models import OrderStatus
from reference_workflows.workflows.common import RetryOptions, error_type
from reference_workflows.workflows.polling import (
    ORDER_POLLING_TIMEOUT,
    OrderPollingInput,
    OrderPollingWorkflow,
)

STARTING_CASH = 100_000.0


def polling(**fields: object) -> OrderPollingInput:
    options: dict[str, object] = {"retry": RetryOptions(maximum_attempts=3), **fields}
    return OrderPollingInput("AAPL", quantity=10, limit_price=190.0, max_polls=3, **options)  # type: ignore[arg-type]


async def test_the_timeout_path_cancels_the_order_once_though_checks_and_the_cancel_fail(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    # An order that will not fill within the three checks the workflow allows.
    services = create_services(ledger_path=tmp_path / "ledger.sqlite3", fill_after_checks=100)
    temporal.inject(
        # The first attempt of every status check times out on the server (30 s in the
        # workflow's options, 0.1 s here); the retry answers.
        start_to_close_timeout(PaperBroker.get_order_status, attempts=[1], shortened_to=0.1),
        # The cancel reaches the broker but its answer is lost: the retry must not fail on
        # an order already cancelled, nor cancel twice.
        retryable_error(PaperBroker.cancel_order, attempts=[1], after_running=True),
    )
    handle = await temporal.start(OrderPollingWorkflow.run, polling(), activities=services.activities())
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert error_type(failure.value) == ORDER_POLLING_TIMEOUT
    message = str(failure.value.cause)
    assert "still pending after 3 status checks" in message and "it was cancelled" in message

    checks = temporal.attempts(PaperBroker.get_order_status)
    assert [(a.attempt, a.outcome) for a in checks] == [(1, "timed_out"), (2, "succeeded")] * 3
    temporal.assert_attempts(PaperBroker.cancel_order, failed=[1], succeeded=2)
    [order] = services.broker.orders()
    assert (order.status, order.status_checks) == (OrderStatus.CANCELLED, 3)  # timed-out checks never ran
    assert services.broker.fills() == [] and services.broker.snapshot().cash == STARTING_CASH
    history = await temporal.history(handle)
    assert [t.status for t in history.timers()] == ["fired", "fired"]  # the backoff between checks


async def test_a_status_check_that_always_times_out_fails_with_the_timeout(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    services = create_services(ledger_path=tmp_path / "ledger.sqlite3")
    temporal.inject(start_to_close_timeout(PaperBroker.get_order_status, attempts=EVERY_ATTEMPT, shortened_to=0.1))
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(
            OrderPollingWorkflow.run, polling(retry=RetryOptions(maximum_attempts=2)), activities=services.activities()
        )
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, TimeoutError)
    assert activity_error.cause.type is TimeoutType.START_TO_CLOSE
    temporal.assert_attempts(PaperBroker.get_order_status, failed=[1, 2], succeeded=None)
