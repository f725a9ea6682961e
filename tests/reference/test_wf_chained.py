"""Chained workflows on a real server: the decision feeds the trade, on every path of the chain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from reference_fixtures import BARS, STARTING_CASH, RejectingBroker, TradingDesk, find_as_of, pinned

from reference_workflows.agents import STRATEGY_SIGNALS
from reference_workflows.analysis import compute_indicators
from reference_workflows.models import (
    ExecuteTradeRequest,
    ExecutionStatus,
    MarketData,
    Side,
    Signal,
)
from reference_workflows.workflows.chained import (
    DEPENDENCIES,
    WORKFLOWS,
    ChainedTradingInput,
    ChainedTradingResult,
    ChainedTradingWorkflow,
)
from reference_workflows.workflows.conditional import REGIME_PLANS


def day_when(symbol: str, signal: Signal) -> datetime:
    """A day on which the conditional workflow's branch for ``symbol`` says ``signal``."""

    def wanted(data: MarketData) -> bool:
        indicators = compute_indicators(data)
        plan = REGIME_PLANS[indicators.volatility_regime]
        return STRATEGY_SIGNALS[plan.strategy](indicators).signal is signal

    return find_as_of(symbol, wanted)


async def run(desk: TradingDesk, symbol: str, signal: Signal) -> ChainedTradingResult:
    request = pinned(ChainedTradingInput, symbol, bars=BARS, as_of=day_when(symbol, signal))
    return await desk.run(
        ChainedTradingWorkflow.run, request, workflows=[*WORKFLOWS, *DEPENDENCIES]
    )


async def test_a_buy_decision_is_carried_out_by_the_saga(desk: TradingDesk) -> None:
    result = await run(desk, "AAPL", Signal.BUY)

    assert result.status is ExecutionStatus.FILLED
    assert result.decision.signal.signal is Signal.BUY and result.decision.quantity == 75
    # The decision is the trade's input: its size, and the price that was analysed.
    assert result.trade is not None
    assert (result.trade.side, result.trade.quantity) == (Side.BUY, 75)
    assert result.trade.price == result.decision.analysis.indicators.last_price
    [fill] = desk.broker.fills()
    assert (fill.symbol, fill.quantity, fill.price) == ("AAPL", 75, result.trade.price)
    chain_id = desk.temporal.started_workflows[0]
    assert result.links == [f"{chain_id}:strategy", f"{chain_id}:trade"]
    children = (await desk.history(chain_id)).children()
    assert [(c.workflow_type, c.status) for c in children] == [
        ("ConditionalStrategyWorkflow", "completed"),
        ("TradeSagaWorkflow", "completed"),
    ]


async def test_a_hold_decision_ends_the_chain_without_a_trade(desk: TradingDesk) -> None:
    result = await run(desk, "AAPL", Signal.HOLD)

    assert result.status is ExecutionStatus.SKIPPED
    assert result.reason == "momentum decided hold 0: no trade"
    assert result.trade is None and len(result.links) == 1
    assert desk.broker.fills() == []


async def test_a_sell_decision_sells_only_the_shares_held(desk: TradingDesk) -> None:
    buy = ExecuteTradeRequest("paper", "TSLA", Side.BUY, 30, "setup", 200.0)
    desk.broker.ledger.execute_trade(buy)

    result = await run(desk, "TSLA", Signal.SELL)

    assert result.status is ExecutionStatus.FILLED
    assert result.decision.quantity == 50  # half size in high volatility
    assert result.trade is not None and (result.trade.side, result.trade.quantity) == (
        Side.SELL,
        30,
    )
    assert desk.broker.snapshot().positions == []


async def test_a_sell_decision_with_nothing_to_sell_is_skipped(desk: TradingDesk) -> None:
    result = await run(desk, "TSLA", Signal.SELL)

    assert result.status is ExecutionStatus.SKIPPED
    assert "holds no TSLA: the chain does not sell short" in result.reason
    assert result.trade is None
    history = await desk.history()
    assert history.activity_names() == ["get_account"]


async def test_a_compensated_saga_ends_the_chain_rejected_with_the_ledger_as_before(
    make_desk: Callable[..., TradingDesk],
) -> None:
    desk = make_desk(broker=RejectingBroker, reject="confirm_execution")

    result = await run(desk, "AAPL", Signal.BUY)

    assert result.status is ExecutionStatus.REJECTED
    assert "failed at confirm_execution" in result.reason
    assert "compensated: cancel_order, release_capital" in result.reason
    assert result.trade is None and len(result.links) == 2
    account = desk.broker.snapshot()
    assert (account.cash, account.reserved) == (STARTING_CASH, 0)
    assert desk.broker.open_reservations() == []
