"""Sub-workflows on a real server: each child alone, and the parent composing their results."""

from __future__ import annotations

import pytest
from reference_fixtures import (
    AS_OF,
    BARS,
    FAST_RETRY,
    STARTING_CASH,
    TradingDesk,
    find_as_of,
    pinned_inputs,
)

from reference_workflows.analysis import compute_indicators
from reference_workflows.models import (
    ExecutionStatus,
    MarketData,
    RiskAssessmentRequest,
    Side,
    Strategy,
    TradeRequest,
)
from reference_workflows.risk import evaluate_risk
from reference_workflows.workflows.child import (
    WORKFLOWS,
    OrderValidationInput,
    OrderValidationResult,
    OrderValidationWorkflow,
    TradeExecutionInput,
    TradeExecutionResult,
    TradeExecutionWorkflow,
    TradeWithChildrenInput,
    TradeWithChildrenResult,
    TradeWithChildrenWorkflow,
)

trade = pinned_inputs(TradeWithChildrenInput, "AAPL", bars=BARS)


async def run_parent(desk: TradingDesk, request: TradeWithChildrenInput) -> TradeWithChildrenResult:
    return await desk.run(TradeWithChildrenWorkflow.run, request, workflows=WORKFLOWS)


def too_risky(data: MarketData) -> bool:
    trade = TradeRequest(data.symbol, Strategy.MOMENTUM)
    request = RiskAssessmentRequest(trade, data, compute_indicators(data))
    return not evaluate_risk(request).approved


async def test_the_parent_composes_three_children_into_a_fill(desk: TradingDesk) -> None:
    handle = await desk.start(
        TradeWithChildrenWorkflow.run, trade(quantity=12), workflows=WORKFLOWS
    )
    result: TradeWithChildrenResult = await handle.result()

    assert result.status is ExecutionStatus.FILLED
    assert result.validation.valid and result.validation.problems == []
    assert result.risk is not None and result.risk.approved and result.risk.allowed_quantity == 12
    assert result.execution is not None
    [fill] = desk.broker.fills()
    # Each child's output fed the next one: validation's price, risk's quantity.
    assert (fill.quantity, fill.price) == (12, result.validation.price)
    assert result.execution.execution.fill_id == fill.fill_id
    assert result.execution.idempotency_key == f"{handle.id}:execute:trade"
    suffixes = [":validate", ":risk", ":execute"]
    assert result.child_workflow_ids == [handle.id + suffix for suffix in suffixes]
    children = (await desk.history(handle)).children()
    assert [(c.workflow_type, c.status) for c in children] == [
        ("OrderValidationWorkflow", "completed"),
        ("RiskCheckWorkflow", "completed"),
        ("TradeExecutionWorkflow", "completed"),
    ]


async def test_an_invalid_order_stops_after_validation_with_every_problem(
    desk: TradingDesk,
) -> None:
    result = await run_parent(desk, trade(quantity=5_000))

    assert result.status is ExecutionStatus.REJECTED
    assert result.risk is None and result.execution is None
    assert len(result.child_workflow_ids) == 1
    problems = result.validation.problems
    assert len(problems) == 2
    assert "exceeds the limit of 250,000.00" in problems[0]
    assert "cash 100,000.00 does not cover" in problems[1]
    assert desk.broker.fills() == []


async def test_a_trade_risk_does_not_approve_is_skipped_before_execution(
    desk: TradingDesk,
) -> None:
    as_of = find_as_of("TSLA", too_risky)

    result = await run_parent(desk, trade("TSLA", as_of=as_of))

    assert result.status is ExecutionStatus.SKIPPED
    assert result.risk is not None and not result.risk.approved
    assert result.risk.assessment.risk_score > result.risk.assessment.threshold
    assert result.execution is None and len(result.child_workflow_ids) == 2
    assert desk.broker.fills() == []


async def test_validation_alone_reports_an_unknown_exchange_and_a_bad_quantity(
    desk: TradingDesk,
) -> None:
    result: OrderValidationResult = await desk.run(
        OrderValidationWorkflow.run,
        OrderValidationInput("AAPL", quantity=0, exchange="MOON", as_of=AS_OF, retry=FAST_RETRY),
    )

    assert not result.valid and result.price is None
    assert result.problems[0] == "quantity 0 is below 1 share"
    assert "'MOON' is not supported" in result.problems[1]


async def test_validation_alone_refuses_a_sale_of_shares_not_held(desk: TradingDesk) -> None:
    result: OrderValidationResult = await desk.run(
        OrderValidationWorkflow.run,
        OrderValidationInput("AAPL", side=Side.SELL, quantity=3, as_of=AS_OF, retry=FAST_RETRY),
    )

    assert not result.valid
    assert result.price is not None and result.notional == pytest.approx(3 * result.price)
    assert result.problems == ["account holds 0 AAPL, cannot sell 3"]


async def test_execution_alone_turns_a_broker_refusal_into_rejected(desk: TradingDesk) -> None:
    result: TradeExecutionResult = await desk.run(
        TradeExecutionWorkflow.run,
        TradeExecutionInput("AAPL", quantity=10_000, price=190.0, retry=FAST_RETRY),
    )

    assert result.execution.status is ExecutionStatus.REJECTED
    assert "buy fewer shares" in result.execution.reason
    assert desk.broker.snapshot().cash == STARTING_CASH
