"""Steps that several patterns run: a few activities each, called with the input's options.

A step is a plain async function that a workflow awaits; it runs in the calling workflow, so
its activities are that workflow's commands, in the order the function issues them. Keep a
step's commands as they are: recorded histories of every pattern that uses it replay against it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.analysis import calculate_technical_indicators
    from reference_workflows.broker import PaperBroker
    from reference_workflows.market import MarketDataService
    from reference_workflows.models import (
        AccountRequest,
        AccountSnapshot,
        ActionRequest,
        AgentDecision,
        ExecuteTradeRequest,
        ExecutionStatus,
        MarketData,
        MarketDataRequest,
        Order,
        OrderRequest,
        Quote,
        RiskAssessment,
        RiskAssessmentRequest,
        Side,
        TechnicalIndicators,
        TradeExecution,
        TradeRequest,
    )
    from reference_workflows.risk import assess_risk
    from reference_workflows.workflows.common import (
        REFUSALS,
        AnalysisInput,
        OrderInput,
        TradeInput,
        error_message,
        error_type,
    )

_I = TypeVar("_I")
_R = TypeVar("_R")


@dataclass
class MarketSnapshot:
    """The bars and indicators a parent already fetched, handed down so children don't refetch."""

    data: MarketData
    indicators: TechnicalIndicators


async def fetch_snapshot(request: AnalysisInput, as_of: datetime) -> MarketSnapshot:
    """The input's bars up to ``as_of`` and their indicators, from the market-data workers."""
    options = request.market_data_options()
    data: MarketData = await workflow.execute_activity_method(
        MarketDataService.fetch_market_data,
        MarketDataRequest(request.symbol, request.exchange, request.timeframe, request.bars, as_of),
        **options,
    )
    indicators: TechnicalIndicators = await workflow.execute_activity(
        calculate_technical_indicators, data, **options
    )
    return MarketSnapshot(data, indicators)


async def assess_trade_risk(
    trade: TradeRequest, market: MarketSnapshot, options: dict[str, Any]
) -> RiskAssessment:
    """The risk model's verdict on ``trade`` in ``market``, for the account as it is now.

    Two activities: the account (its equity, marked at the last price, and its cash), then
    the risk model.
    """
    account: AccountSnapshot = await workflow.execute_activity_method(
        PaperBroker.get_account, AccountRequest(trade.account_id), **options
    )
    risk: RiskAssessment = await workflow.execute_activity(
        assess_risk,
        RiskAssessmentRequest(
            trade,
            market.data,
            market.indicators,
            account_equity=account.value_at({trade.symbol: market.data.last_price}),
            available_cash=account.cash,
        ),
        **options,
    )
    return risk


async def assess_order(request: OrderInput) -> tuple[MarketSnapshot, RiskAssessment]:
    """The order's market and the risk model's verdict on it: bars, indicators, account, risk."""
    # Pinned once: a retried or replayed fetch asks for the very same bars.
    market = await fetch_snapshot(request, request.as_of or workflow.now())
    trade = request.trade_request(request.strategy, request.side, request.quantity)
    return market, await assess_trade_risk(trade, market, request.activity_options())


async def quote_price(request: TradeInput, side: Side) -> float:
    """What a limit order on ``request`` pays now: the ask for a buy, the bid for a sale."""
    quote: Quote = await workflow.execute_activity_method(
        MarketDataService.get_quote,
        MarketDataRequest(request.symbol, request.exchange, as_of=request.as_of or workflow.now()),
        **request.market_data_options(),
    )
    return quote.ask if side is Side.BUY else quote.bid


async def place_limit_order(
    request: TradeInput,
    side: Side,
    quantity: int,
    price: float,
    idempotency_key: str,
    options: dict[str, Any],
    reservation_id: str | None = None,
) -> Order:
    """A PENDING limit order for ``quantity`` of the input's symbol, placed at ``price``."""
    order: Order = await workflow.execute_activity_method(
        PaperBroker.place_order,
        OrderRequest(
            request.account_id,
            request.symbol,
            side,
            quantity,
            idempotency_key=idempotency_key,
            limit_price=price,
            reservation_id=reservation_id,
        ),
        **options,
    )
    return order


async def execute_once(
    account_id: str,
    symbol: str,
    side: Side,
    quantity: int,
    price: float,
    options: dict[str, Any],
) -> TradeExecution:
    """Execute this workflow's one trade at ``price`` (see :func:`execute_or_reject`).

    The idempotency key is the workflow id, so a retried activity never fills twice; the
    price is the one the workflow decided on, not the broker's wall-clock price, so fills
    are reproducible.
    """
    order = ExecuteTradeRequest(
        account_id,
        symbol,
        side,
        quantity,
        idempotency_key=f"{workflow.info().workflow_id}:execute",
        price=price,
    )
    return await execute_or_reject(order, options)


async def execute_or_reject(order: ExecuteTradeRequest, options: dict[str, Any]) -> TradeExecution:
    """Trade through the broker; a refusal (no cash, no shares) is a REJECTED execution.

    A refusal is an answer, not a fault: the workflow reports it instead of failing.
    """
    try:
        result: TradeExecution = await workflow.execute_activity_method(
            PaperBroker.execute_trade, order, **options
        )
        return result
    except ActivityError as error:
        if error_type(error) not in REFUSALS:
            raise
        return TradeExecution(
            ExecutionStatus.REJECTED,
            order.symbol,
            Side(order.side),
            order.quantity,
            order.price,
            reason=error_message(error),
        )


async def act(
    decision: AgentDecision,
    account_id: str,
    price: float,
    options: dict[str, Any],
    *,
    summary: str | None = "action agent",
) -> TradeExecution:
    """The action agent carries ``decision`` out at ``price`` (HOLD comes back SKIPPED).

    The idempotency key is the workflow id, so a retried activity never trades twice.
    ``summary`` labels the call in the history (None: no label, as some workflows recorded).
    """
    execution: TradeExecution = await workflow.execute_activity_method(
        Agents.action_agent,
        ActionRequest(
            decision,
            account_id,
            idempotency_key=f"{workflow.info().workflow_id}:execute",
            price=price,
        ),
        summary=summary,
        **options,
    )
    return execution


class Children:
    """The child workflows a parent runs one after another, each under the id
    ``<parent id>:<name>``, so that a re-run parent finds the same children."""

    def __init__(self) -> None:
        self.parent_id = workflow.info().workflow_id
        self.ids: list[str] = []
        """The ids of the children started so far, in order (for the parent's result)."""

    async def run(self, name: str, run: Callable[[Any, _I], Awaitable[_R]], argument: _I) -> _R:
        """Start the child workflow ``run`` on ``argument`` and wait for its result."""
        self.ids.append(f"{self.parent_id}:{name}")
        return await workflow.execute_child_workflow(run, argument, id=self.ids[-1])


def skipped(symbol: str, reason: str) -> TradeExecution:
    """The execution of a trade that was not made, and why."""
    return TradeExecution(ExecutionStatus.SKIPPED, symbol, reason=reason)


__all__ = [
    "Children",
    "MarketSnapshot",
    "act",
    "assess_order",
    "assess_trade_risk",
    "execute_once",
    "execute_or_reject",
    "fetch_snapshot",
    "place_limit_order",
    "quote_price",
    "skipped",
]
