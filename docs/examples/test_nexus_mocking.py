"""Mocking a Nexus operation (docs/how-to/nexus.md)."""

from __future__ import annotations

from risk_service import (
    GuardedTrade,
    RiskDeskHandler,
    RiskRequest,
    RiskService,
    RiskVerdict,
    TradeOrder,
    place_order,
)
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import TemporalHarness


async def test_an_approved_trade_is_placed(temporal: TemporalHarness) -> None:
    assess = temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk", returns=RiskVerdict(True, "within limits")
    )
    temporal.mock_activity(place_order, returns="ord-1")

    result = await temporal.run(GuardedTrade.run, TradeOrder("AAPL", 100), activities=[place_order])

    assert result == "traded 100 AAPL (ord-1)"
    assess.assert_called_once_with(RiskRequest("AAPL", 100))
    temporal.assert_call_order(RiskService.assess, place_order)


async def test_the_verdict_can_depend_on_the_request(temporal: TemporalHarness) -> None:
    assess = temporal.mock_nexus_operation(
        RiskService,
        "assess",  # by name works too
        returns=lambda request: RiskVerdict(request.quantity <= 500, "over the 500-share limit"),
    )
    trade = temporal.mock_activity(place_order, returns="ord-2")

    # No endpoint given: the harness made one up for this test; the workflow takes it as input.
    order = TradeOrder("TSLA", 800, risk_endpoint=assess.endpoint)
    assert await temporal.run(GuardedTrade.run, order, activities=[place_order]) == (
        "not traded: over the 500-share limit"
    )
    trade.assert_not_called()
    [call] = assess.calls
    assert call.kind == "nexus operation" and call.workflow_id == temporal.started_workflows[0]


async def test_a_failing_risk_desk_stops_the_trade(temporal: TemporalHarness) -> None:
    temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk",
        raises=ApplicationError("risk engine down", non_retryable=True),
    )
    trade = temporal.mock_activity(place_order).expect(times=0)

    result = await temporal.run(GuardedTrade.run, TradeOrder("NVDA", 10), activities=[place_order])

    assert result.startswith("not traded: risk desk failed")
    assert trade.call_count == 0


async def test_against_the_real_handler(temporal: TemporalHarness) -> None:
    temporal.mock_activity(place_order, returns="ord-3")
    endpoint = await temporal.env.create_nexus_endpoint("risk-desk-real", temporal.task_queue)
    try:
        async with temporal.worker(
            workflows=[GuardedTrade], activities=[place_order], nexus_service_handlers=[RiskDeskHandler()]
        ):
            order = TradeOrder("AAPL", 5_000, risk_endpoint="risk-desk-real")
            result = await temporal.result(await temporal.start(GuardedTrade.run, order))
    finally:
        await temporal.env.delete_nexus_endpoint(endpoint)

    assert result == "not traded: 5000 shares is over the 1000-share limit"
