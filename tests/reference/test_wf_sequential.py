"""The sequential pattern on a real server: every step in order, and each of its outcomes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reference_fixtures import BARS, STARTING_CASH, pinned, snippet_problems
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import TemporalHarness
from reference_workflows.activities import ReferenceServices
from reference_workflows.models import ExecutionStatus, Side
from reference_workflows.workflows.sequential import (
    STEPS,
    SequentialTradingInput,
    SequentialTradingResult,
    SequentialTradingWorkflow,
)
from reference_workflows.workflows.trading import INVALID_WORKFLOW_INPUT


def trade(symbol: str = "AAPL", **fields: object) -> SequentialTradingInput:
    return pinned(SequentialTradingInput, symbol, bars=BARS, **fields)


async def run(
    temporal: TemporalHarness, services: ReferenceServices, request: SequentialTradingInput
) -> SequentialTradingResult:
    result: SequentialTradingResult = await temporal.run(
        SequentialTradingWorkflow.run, request, activities=services.activities()
    )
    return result


async def test_an_approved_buy_runs_every_step_in_order_and_fills(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    handle = await temporal.start(
        SequentialTradingWorkflow.run, trade(quantity=7), activities=services.activities()
    )
    result: SequentialTradingResult = await handle.result()

    assert result.status is ExecutionStatus.FILLED
    assert result.steps == STEPS
    assert result.risk.approved
    [fill] = services.broker.fills()
    assert (fill.symbol, fill.side, fill.quantity) == ("AAPL", Side.BUY, 7)
    assert fill.price == result.indicators.last_price  # the analysed price, not the wall clock's
    assert services.broker.snapshot().cash == pytest.approx(STARTING_CASH - fill.notional)
    history = await temporal.history(handle)
    assert history.activity_names() == STEPS


async def test_quantity_is_capped_at_the_risk_limit(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    result = await run(temporal, services, trade(quantity=1_000_000))

    assert result.status is ExecutionStatus.FILLED
    assert 0 < result.execution.quantity == result.risk.max_position_size < 1_000_000


async def test_a_trade_risk_does_not_approve_is_skipped(
    temporal: TemporalHarness, make_services: Callable[..., ReferenceServices]
) -> None:
    services = make_services(starting_cash=50.0)  # not one share of AAPL

    result = await run(temporal, services, trade())

    assert result.status is ExecutionStatus.SKIPPED
    assert not result.risk.approved and result.risk.max_position_size == 0
    assert "risk did not approve" in result.execution.reason
    assert result.steps == STEPS[:-1]
    assert services.broker.fills() == []


async def test_a_sale_without_shares_is_rejected_by_the_broker(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    result = await run(temporal, services, trade(side=Side.SELL, quantity=3))

    assert result.status is ExecutionStatus.REJECTED
    assert "holds 0 AAPL" in result.execution.reason
    assert services.broker.fills() == []
    assert services.broker.snapshot().cash == STARTING_CASH


async def test_a_quantity_below_one_fails_the_workflow_at_once(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await run(temporal, services, trade(quantity=0))

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == INVALID_WORKFLOW_INPUT
    assert "quantity=0" in str(failure.value.cause)


def test_the_cookbook_page_quotes_the_real_code() -> None:
    sources = (
        "reference_workflows/workflows/sequential.py",
        "tests/reference/test_wf_sequential.py",
    )
    assert snippet_problems("sequential.md", *sources) == []
