"""After: the same tests as test_migrate_before.py with the ``temporal`` fixture (docs/how-to/migrate.md).

The server, worker, task queue, ids, no-hang timeout and the replay check come with the
fixture; mocks replace the activities and the child workflow by name and record their calls.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pytest_temporal_agents import TemporalHarness
from trading_desk import (
    OrderApproval,
    Quote,
    Research,
    ResearchAgent,
    TradeDesk,
    fetch_quote,
    place_order,
    stamp_trade,
)


@pytest.mark.temporal(timeout=30)  # the default is 30 s already; shown for the table
async def test_a_confident_desk_buys(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchAgent, returns=Research("AAPL", "strong quarter", 0.9))
    temporal.mock_activity(fetch_quote, returns=Quote("AAPL", 189.5))
    order = temporal.mock_activity(place_order, returns=lambda symbol, quantity: f"ord-{symbol}-{quantity}")

    result = await temporal.run(
        TradeDesk.run, "AAPL", workflows=[TradeDesk, ResearchAgent], activities=[fetch_quote, place_order]
    )

    assert result == "bought 10 AAPL at 189.5 (ord-AAPL-10)"
    order.assert_called_once_with("AAPL", 10)
    temporal.assert_call_order(ResearchAgent, fetch_quote, place_order)


async def test_an_approval_is_signalled_and_queried(temporal: TemporalHarness) -> None:
    stamp = temporal.mock_activity(stamp_trade, returns=lambda symbol: f"{symbol} ticket")
    handle = await temporal.start(OrderApproval.run, "MSFT", activities=[stamp_trade])

    await temporal.sleep(timedelta(hours=2))  # skips two hours of the server's clock
    assert await handle.query(OrderApproval.status) == "waiting"
    await handle.signal(OrderApproval.approve, "risk desk")

    assert await handle.result() == "MSFT ticket, approved by risk desk"
    stamp.assert_called_once_with("MSFT")


async def test_an_unapproved_order_expires_after_a_day(temporal: TemporalHarness) -> None:
    stamp = temporal.mock_activity(stamp_trade)

    assert await temporal.run(OrderApproval.run, "TSLA", activities=[stamp_trade]) == "TSLA: expired"
    stamp.assert_not_called()
