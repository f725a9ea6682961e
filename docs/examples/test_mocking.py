"""Mocking activities and child workflows (docs/how-to/mocking.md)."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import TemporalHarness
from trading_desk import Quote, Research, ResearchAgent, TradeDesk, fetch_quote, place_order

DESK = {"workflows": [TradeDesk, ResearchAgent], "activities": [fetch_quote, place_order]}


async def test_a_confident_agent_buys(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent, returns=Research("AAPL", "strong quarter", 0.9))
    temporal.mock_activity(fetch_quote, returns=Quote("AAPL", 189.5))
    order = temporal.mock_activity(place_order, returns=lambda symbol, quantity: f"ord-{symbol}-{quantity}")

    result = await temporal.run(TradeDesk.run, "AAPL", **DESK)

    assert result == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    order.assert_called_once_with("AAPL", 10)
    temporal.assert_call_order(ResearchAgent, fetch_quote, place_order)


async def test_a_hesitant_agent_never_trades(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent, returns=Research("TSLA", "too volatile", 0.3))
    temporal.mock_activity(fetch_quote).expect(times=0)  # checked when the test ends
    temporal.mock_activity(place_order).expect(times=0)

    assert await temporal.run(TradeDesk.run, "TSLA", **DESK) == "hold TSLA: too volatile"


async def test_a_flaky_quote_is_retried(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent, returns=Research("MSFT", "fine", 0.8))
    quote = temporal.mock_activity(
        fetch_quote, sequence=[ApplicationError("feed timeout"), Quote("MSFT", 410.0)]
    )
    temporal.mock_activity(place_order, returns="ord-1")

    assert await temporal.run(TradeDesk.run, "MSFT", **DESK) == "bought 10 MSFT at 410.0 (ord-1)"
    assert [call.attempt for call in quote.calls] == [1, 2]
    assert isinstance(quote.calls[0].error, ApplicationError)


async def test_mocks_without_a_behaviour_return_faked_values(temporal: TemporalHarness) -> None:
    agent = temporal.mock_child_workflow(ResearchAgent)  # a Research faked from the annotation
    temporal.mock_activity(fetch_quote)
    temporal.mock_activity(place_order)

    result = await temporal.run(TradeDesk.run, "NVDA", **DESK)

    research = agent.calls[0].result
    assert isinstance(research, Research) and 0 <= research.confidence <= 1
    assert result.startswith("bought" if research.confidence >= 0.7 else "hold")


async def test_a_mocked_child_needs_no_worker(temporal: TemporalHarness) -> None:
    # Only the parent is registered: the harness registers the child's stand-in itself.
    agent = temporal.mock_child_workflow("ResearchAgent", returns=Research("AAPL", "strong quarter", 0.9))
    temporal.mock_activity(fetch_quote, returns=Quote("AAPL", 189.5))
    temporal.mock_activity(place_order, returns="ord-1")

    result = await temporal.run(TradeDesk.run, "AAPL", workflows=[TradeDesk], activities=[fetch_quote, place_order])

    assert result == "bought 10 AAPL at 189.5 (ord-1)"
    assert agent.call_count == 1
