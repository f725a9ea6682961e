"""Chained workflows: one workflow's result is the next one's input.

``ChainedTradingWorkflow`` chains two workflows that also run on their own: the conditional
strategy workflow decides (strategy by volatility regime, its signal and a size, without
trading), then the trade saga carries out that decision all-or-nothing. The chain is long-only:
a BUY signal buys, a SELL signal sells the shares the account holds (up to the size), a HOLD or
a SELL with nothing to sell ends the chain with SKIPPED.

Each link is a child workflow with a stable id (the chain's id plus ``:strategy`` and
``:trade``), so its history stands on its own and a re-run chain finds the same idempotency keys.
A saga that fails and compensates ends the chain as REJECTED with the saga's reason; any other
failure fails the chain.

Register ``DEPENDENCIES`` (the linked workflows) on the worker along with ``WORKFLOWS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.broker import PaperBroker
    from reference_workflows.models import (
        AccountRequest,
        AccountSnapshot,
        ExecutionStatus,
        Side,
        Signal,
    )
    from reference_workflows.workflows.common import AnalysisInput, TradeOutcome, check_quantity
    from reference_workflows.workflows.conditional import (
        ConditionalStrategyInput,
        ConditionalStrategyResult,
        ConditionalStrategyWorkflow,
    )
    from reference_workflows.workflows.saga import (
        TRADE_SAGA_FAILED,
        TradeSagaInput,
        TradeSagaResult,
        TradeSagaWorkflow,
    )
    from reference_workflows.workflows.steps import Children


@dataclass
class ChainedTradingInput(AnalysisInput):
    """Decide on ``symbol`` and trade the decision; ``quantity`` is the full-size position."""

    quantity: int = 100


@dataclass
class ChainedTradingResult(TradeOutcome):
    """The chain's outcome and each link's result (None for a link that did not run)."""

    decision: ConditionalStrategyResult
    trade: TradeSagaResult | None = None
    links: list[str] = field(default_factory=list)
    """Ids of the child workflows that ran, in order."""


@workflow.defn
class ChainedTradingWorkflow:
    """Conditional strategy, then the trade saga on its decision."""

    @workflow.run
    async def run(self, request: ChainedTradingInput) -> ChainedTradingResult:
        check_quantity(request.quantity)
        links = Children()
        # One moment for every link: the trade is priced on the market that was analysed.
        as_of = request.as_of or workflow.now()
        decision = await links.run(
            "strategy",
            ConditionalStrategyWorkflow.run,
            request.child_input(ConditionalStrategyInput, execute=False, as_of=as_of),
        )
        signal = decision.signal.signal
        if signal is Signal.HOLD or decision.quantity < 1:
            return ChainedTradingResult(
                request.symbol,
                ExecutionStatus.SKIPPED,
                f"{decision.strategy.value} decided {signal.value} {decision.quantity}: no trade",
                decision,
                links=links.ids,
            )
        side, quantity = Side.BUY, decision.quantity
        if signal is Signal.SELL:
            side, quantity = Side.SELL, min(quantity, await self._held(request))
            if quantity < 1:
                return ChainedTradingResult(
                    request.symbol,
                    ExecutionStatus.SKIPPED,
                    f"{decision.strategy.value} decided sell, but the account holds no "
                    f"{request.symbol}: the chain does not sell short",
                    decision,
                    links=links.ids,
                )

        # The analysed price: the trade is the one that was decided on.
        price = decision.analysis.indicators.last_price
        try:
            trade = await links.run(
                "trade",
                TradeSagaWorkflow.run,
                request.child_input(
                    TradeSagaInput, side=side, quantity=quantity, limit_price=price, as_of=as_of
                ),
            )
        except ChildWorkflowError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == TRADE_SAGA_FAILED):
                raise
            # The saga undid its own steps; its message says what failed and what was undone.
            return ChainedTradingResult(
                request.symbol, ExecutionStatus.REJECTED, cause.message, decision, links=links.ids
            )
        return ChainedTradingResult(
            request.symbol,
            ExecutionStatus.FILLED,
            f"{side.value} {trade.quantity} at {trade.price} ({decision.rationale})",
            decision,
            trade,
            links.ids,
        )

    async def _held(self, request: ChainedTradingInput) -> int:
        account: AccountSnapshot = await workflow.execute_activity_method(
            PaperBroker.get_account,
            AccountRequest(request.account_id),
            **request.activity_options(),
        )
        return sum(p.quantity for p in account.positions if p.symbol == request.symbol)


WORKFLOWS: list[type] = [ChainedTradingWorkflow]
DEPENDENCIES: list[type] = [ConditionalStrategyWorkflow, TradeSagaWorkflow]
"""The workflows the chain links; defined (and listed in ``WORKFLOWS``) in their own modules."""

__all__ = [
    "DEPENDENCIES",
    "WORKFLOWS",
    "ChainedTradingInput",
    "ChainedTradingResult",
    "ChainedTradingWorkflow",
]
