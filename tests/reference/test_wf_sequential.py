"""The sequential pattern on a real server: every step in order, and each of its outcomes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reference_fixtures import BARS, STARTING_CASH, TradingDesk, pinned_inputs
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from reference_workflows.models import ExecutionStatus, Side
from reference_workflows.workflows.sequential import (
    STEPS,
    SequentialTradingInput,
    SequentialTradingWorkflow,
)
from reference_workflows.workflows.trading import INVALID_WORKFLOW_INPUT

trade = pinned_inputs(SequentialTradingInput, "AAPL", bars=BARS)


async def test_an_approved_buy_runs_every_step_in_order_and_fills(desk: TradingDesk) -> None:
    result = await desk.run(SequentialTradingWorkflow.run, trade(quantity=7))

    assert result.status is ExecutionStatus.FILLED
    assert result.steps == STEPS
    assert result.risk.approved
    [fill] = desk.broker.fills()
    assert (fill.symbol, fill.side, fill.quantity) == ("AAPL", Side.BUY, 7)
    assert fill.price == result.indicators.last_price  # the analysed price, not the wall clock's
    assert desk.broker.snapshot().cash == pytest.approx(STARTING_CASH - fill.notional)
    history = await desk.history()
    assert history.activity_names() == STEPS


async def test_quantity_is_capped_at_the_risk_limit(desk: TradingDesk) -> None:
    result = await desk.run(SequentialTradingWorkflow.run, trade(quantity=1_000_000))

    assert result.status is ExecutionStatus.FILLED
    assert 0 < result.execution.quantity == result.risk.max_position_size < 1_000_000


async def test_a_trade_risk_does_not_approve_is_skipped(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(starting_cash=50.0)  # not one share of AAPL

    result = await desk.run(SequentialTradingWorkflow.run, trade())

    assert result.status is ExecutionStatus.SKIPPED
    assert not result.risk.approved and result.risk.max_position_size == 0
    assert "risk did not approve" in result.execution.reason
    assert result.steps == STEPS[:-1]
    assert desk.broker.fills() == []


async def test_a_sale_without_shares_is_rejected_by_the_broker(desk: TradingDesk) -> None:
    result = await desk.run(SequentialTradingWorkflow.run, trade(side=Side.SELL, quantity=3))

    assert result.status is ExecutionStatus.REJECTED
    assert "holds 0 AAPL" in result.execution.reason
    assert desk.broker.fills() == []
    assert desk.broker.snapshot().cash == STARTING_CASH


async def test_a_quantity_below_one_fails_the_workflow_at_once(desk: TradingDesk) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await desk.run(SequentialTradingWorkflow.run, trade(quantity=0))

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == INVALID_WORKFLOW_INPUT
    assert "quantity=0" in str(failure.value.cause)
