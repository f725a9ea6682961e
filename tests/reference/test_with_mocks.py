"""The trading workflows' decisions, with the agents and the market mocked where that is clearer.

The other reference tests run every activity for real on the seeded simulator, and pick a
symbol and a day whose market happens to produce the case they need (TSLA's risk is 0.74 at
AS_OF). Here the case is stated instead: the risk agent returns exactly the score under test,
an exchange is down because the test says so, and the agents that must not run are expected
never to be called. The workflows are unchanged and run on the real server.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from reference_fixtures import AGENT_RETRY, AS_OF
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import TemporalHarness
from reference_workflows.activities import ReferenceServices
from reference_workflows.agents import Agents
from reference_workflows.market import EXCHANGE_UNAVAILABLE, MarketDataService
from reference_workflows.models import (
    AgentContext,
    ExecutionStatus,
    MarketData,
    MarketDataRequest,
    RiskAssessment,
    Side,
    Signal,
    Strategy,
    TradeExecution,
    TradingPlan,
)
from reference_workflows.risk import RISK_THRESHOLD
from reference_workflows.workflows.trading import (
    AutomatedTradingInput,
    AutomatedTradingWorkflow,
    EnhancedParallelTradingInput,
    EnhancedParallelTradingWorkflow,
)


def risk(score: float) -> RiskAssessment:
    """The risk agent's verdict with exactly this score (the workflow applies its threshold)."""
    return RiskAssessment(
        symbol="AAPL", strategy=Strategy.MOMENTUM, volatility=0.2, value_at_risk_95=0.03,
        max_position_size=50, max_notional=10_000.0, risk_score=score,
        threshold=RISK_THRESHOLD, approved=score <= RISK_THRESHOLD,
    )


PLAN = TradingPlan(
    symbol="AAPL", strategy=Strategy.MOMENTUM, signal=Signal.BUY, quantity=12, entry_price=190.0,
    stop_loss=180.0, take_profit=210.0, notional=2_280.0, max_loss=120.0, approved=True,
)


def trade(symbol: str = "AAPL") -> AutomatedTradingInput:
    return AutomatedTradingInput(symbol, as_of=AS_OF, retry=AGENT_RETRY)


@pytest.mark.parametrize("score", [0.71, 0.95])
async def test_a_risk_score_above_the_threshold_stops_before_any_decision(
    temporal: TemporalHarness, services: ReferenceServices, score: float
) -> None:
    temporal.mock_activity(Agents.risk_agent, returns=risk(score))
    temporal.mock_activity(Agents.planning_agent).expect(times=0)
    temporal.mock_activity(Agents.action_agent).expect(times=0)

    result = await temporal.run(AutomatedTradingWorkflow.run, trade(), activities=services.activities())

    assert result.status is ExecutionStatus.SKIPPED
    assert result.reason == f"risk score {score:.2f} is above the threshold 0.70"
    assert services.broker.fills() == []


async def test_a_risk_score_exactly_at_the_threshold_trades_at_the_planned_price(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    temporal.mock_activity(Agents.risk_agent, returns=risk(RISK_THRESHOLD))
    temporal.mock_activity(Agents.planning_agent, returns=PLAN)
    action = temporal.mock_activity(
        Agents.action_agent,
        returns=lambda request: TradeExecution(
            ExecutionStatus.FILLED, "AAPL", Side.BUY, request.decision.quantity, request.price,
            round(request.decision.quantity * (request.price or 0), 2), order_id="ord-1",
        ),
    )

    result = await temporal.run(AutomatedTradingWorkflow.run, trade(), activities=services.activities())

    assert result.status is ExecutionStatus.FILLED
    temporal.assert_call_order(Agents.risk_agent, Agents.planning_agent, action)
    [call] = action.calls
    request = call.args[0]
    assert (request.decision.quantity, request.price) == (12, 190.0)  # the plan, not a new quote
    assert request.idempotency_key == f"{call.workflow_id}:execute"
    # Every agent after the first got the reports of those before it.
    context: AgentContext = temporal.mock(Agents.planning_agent).calls[0].args[0]
    assert context.analysis is not None and context.risk is not None
    assert context.risk.risk_score == RISK_THRESHOLD and context.risk.approved


async def test_a_retried_execution_agent_is_called_with_the_same_idempotency_key(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    temporal.mock_activity(Agents.risk_agent, returns=risk(0.3))
    temporal.mock_activity(Agents.planning_agent, returns=PLAN)
    action = temporal.mock_activity(
        Agents.action_agent,
        sequence=[
            ApplicationError("broker timeout"),
            TradeExecution(ExecutionStatus.FILLED, "AAPL", Side.BUY, 12, 190.0, 2_280.0, "ord-2"),
        ],
    )

    result = await temporal.run(AutomatedTradingWorkflow.run, trade(), activities=services.activities())

    assert result.status is ExecutionStatus.FILLED
    assert [call.attempt for call in action.calls] == [1, 2]
    first, second = (call.args[0].idempotency_key for call in action.calls)
    assert first == second  # so the broker can refuse to fill a retried order twice


async def test_two_exchanges_down_the_trade_goes_to_the_one_that_answered(
    temporal: TemporalHarness, services: ReferenceServices
) -> None:
    async def only_nasdaq(request: MarketDataRequest) -> MarketData:
        if request.exchange != "NASDAQ":
            raise ApplicationError(f"{request.exchange} is closed", type=EXCHANGE_UNAVAILABLE)
        return await services.market.fetch_market_data(request)

    fetch = temporal.mock_activity(MarketDataService.fetch_market_data, returns=only_nasdaq)
    single_attempt = replace(AGENT_RETRY, maximum_attempts=1)
    request = EnhancedParallelTradingInput("AAPL", as_of=AS_OF, quantity=5, retry=single_attempt)

    result = await temporal.run(EnhancedParallelTradingWorkflow.run, request, activities=services.activities())

    assert sorted(call.args[0].exchange for call in fetch.calls) == ["LSE", "NASDAQ", "NYSE"]
    assert [failure.exchange for failure in result.failures] == ["NYSE", "LSE"]
    assert {failure.error_type for failure in result.failures} == {EXCHANGE_UNAVAILABLE}
    assert result.chosen_exchange == "NASDAQ"
