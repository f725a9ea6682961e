"""Sub-workflows: a parent trade composed of three child workflows.

``TradeWithChildrenWorkflow`` runs ``OrderValidationWorkflow`` (is the order well formed, priced
and affordable?), then ``RiskCheckWorkflow`` (does the risk model approve it, and how many
shares at most?), then ``TradeExecutionWorkflow`` (place and fill it). Each child has its own
history, id (the parent's id plus ``:validate``, ``:risk``, ``:execute``), retries and timeouts,
can be run and tested alone, and returns a typed result the parent composes into its own.

Outcomes: FILLED; REJECTED when validation finds problems (nothing else runs) or the broker
refuses; SKIPPED when risk does not approve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.broker import PaperBroker
    from reference_workflows.market import INVALID_MARKET_DATA_REQUEST, UNKNOWN_SYMBOL
    from reference_workflows.models import (
        AccountRequest,
        AccountSnapshot,
        ExecuteTradeRequest,
        ExecutionStatus,
        RiskAssessment,
        Side,
        Strategy,
        TechnicalIndicators,
        TradeExecution,
    )
    from reference_workflows.workflows.common import (
        ActivityInput,
        OrderInput,
        OrderTermsInput,
        TradeInput,
        TradeOutcome,
        error_message,
        error_type,
    )
    from reference_workflows.workflows.steps import (
        Children,
        assess_order,
        execute_or_reject,
        quote_price,
    )

DEFAULT_MAX_NOTIONAL = 250_000.0


# --------------------------------------------------------------------------- order validation


@dataclass
class OrderValidationInput(OrderTermsInput):
    """An order to check before anything is risked on it."""

    max_notional: float = DEFAULT_MAX_NOTIONAL


@dataclass
class OrderValidationResult:
    """``valid`` with the price to trade at, or the list of everything wrong with the order."""

    symbol: str
    side: Side
    quantity: int
    exchange: str
    valid: bool
    price: float | None = None
    notional: float = 0.0
    problems: list[str] = field(default_factory=list)


@workflow.defn
class OrderValidationWorkflow:
    """Quantity, market (a quote from the exchange), size limit and cash or shares to cover it.

    Every problem found is reported, not just the first, so a user can fix them all at once.
    """

    @workflow.run
    async def run(self, request: OrderValidationInput) -> OrderValidationResult:
        problems: list[str] = []
        if request.quantity < 1:
            problems.append(f"quantity {request.quantity} is below 1 share")
        options = request.activity_options()
        price: float | None = None
        try:
            price = await quote_price(request, Side(request.side))
        except ActivityError as error:
            if error_type(error) not in (INVALID_MARKET_DATA_REQUEST, UNKNOWN_SYMBOL):
                raise  # the exchange is down, say: not a problem with the order
            problems.append(error_message(error))
        notional = round(price * max(request.quantity, 0), 2) if price is not None else 0.0
        if notional > request.max_notional:
            problems.append(
                f"notional {notional:,.2f} exceeds the limit of {request.max_notional:,.2f}"
            )
        if price is not None and request.quantity >= 1:
            account: AccountSnapshot = await workflow.execute_activity_method(
                PaperBroker.get_account, AccountRequest(request.account_id), **options
            )
            problems.extend(_coverage_problems(request, account, notional))
        return OrderValidationResult(
            request.symbol,
            Side(request.side),
            request.quantity,
            request.exchange,
            valid=not problems,
            price=price,
            notional=notional,
            problems=problems,
        )


def _coverage_problems(
    request: OrderValidationInput, account: AccountSnapshot, notional: float
) -> list[str]:
    if Side(request.side) is Side.BUY:
        if account.cash < notional:
            return [f"cash {account.cash:,.2f} does not cover {notional:,.2f}"]
        return []
    held = sum(p.quantity for p in account.positions if p.symbol == request.symbol)
    if held < request.quantity:
        return [f"account holds {held} {request.symbol}, cannot sell {request.quantity}"]
    return []


# --------------------------------------------------------------------------- risk check


@dataclass
class RiskCheckInput(OrderInput):
    """A validated order to put before the risk model."""


@dataclass
class RiskCheckResult:
    """The risk model's verdict, and how many of the requested shares it allows."""

    symbol: str
    approved: bool
    allowed_quantity: int
    assessment: RiskAssessment
    indicators: TechnicalIndicators


@workflow.defn
class RiskCheckWorkflow:
    """Bars, indicators and the account, then the risk model's verdict."""

    @workflow.run
    async def run(self, request: RiskCheckInput) -> RiskCheckResult:
        market, assessment = await assess_order(request)
        allowed = min(request.quantity, assessment.max_position_size) if assessment.approved else 0
        return RiskCheckResult(
            request.symbol, assessment.approved, allowed, assessment, market.indicators
        )


# --------------------------------------------------------------------------- trade execution


@dataclass
class TradeExecutionInput(ActivityInput):
    """An order that passed validation and risk: trade it at ``price``."""

    symbol: str
    side: Side = Side.BUY
    quantity: int = 10
    price: float | None = None
    account_id: str = "paper"


@dataclass
class TradeExecutionResult:
    """The broker's answer (FILLED or REJECTED) and the idempotency key it was placed under."""

    execution: TradeExecution
    idempotency_key: str


@workflow.defn
class TradeExecutionWorkflow:
    """Place and fill the order; a broker refusal is a REJECTED result, not a failure."""

    @workflow.run
    async def run(self, request: TradeExecutionInput) -> TradeExecutionResult:
        # This child's own id: the parent gives it a stable one, so a re-run parent that
        # starts it again would hit the same key and never trade twice.
        key = f"{workflow.info().workflow_id}:trade"
        order = ExecuteTradeRequest(
            request.account_id,
            request.symbol,
            request.side,
            request.quantity,
            idempotency_key=key,
            price=request.price,
        )
        execution = await execute_or_reject(order, request.activity_options())
        return TradeExecutionResult(execution, key)


# --------------------------------------------------------------------------- the parent


@dataclass
class TradeWithChildrenInput(TradeInput):
    """The trade the parent validates, risk-checks and executes through its children."""

    strategy: Strategy = Strategy.MOMENTUM
    side: Side = Side.BUY
    quantity: int = 10
    max_notional: float = DEFAULT_MAX_NOTIONAL
    bars: int = 120


@dataclass
class TradeWithChildrenResult(TradeOutcome):
    """The trade's outcome and each child's result (None for children that did not run)."""

    validation: OrderValidationResult
    risk: RiskCheckResult | None = None
    execution: TradeExecutionResult | None = None
    child_workflow_ids: list[str] = field(default_factory=list)


@workflow.defn
class TradeWithChildrenWorkflow:
    """Validation, risk check and execution, each a child workflow, composed into one result."""

    @workflow.run
    async def run(self, request: TradeWithChildrenInput) -> TradeWithChildrenResult:
        children = Children()
        # Pinned once for all children, so validation and risk look at the same market.
        as_of = request.as_of or workflow.now()

        validation = await children.run(
            "validate",
            OrderValidationWorkflow.run,
            request.child_input(OrderValidationInput, as_of=as_of),
        )
        if not validation.valid:
            return TradeWithChildrenResult(
                request.symbol,
                ExecutionStatus.REJECTED,
                f"validation failed: {'; '.join(validation.problems)}",
                validation,
                child_workflow_ids=children.ids,
            )

        risk = await children.run(
            "risk", RiskCheckWorkflow.run, request.child_input(RiskCheckInput, as_of=as_of)
        )
        if not risk.approved or risk.allowed_quantity < 1:
            return TradeWithChildrenResult(
                request.symbol,
                ExecutionStatus.SKIPPED,
                f"risk did not approve: {'; '.join(risk.assessment.reasons)}",
                validation,
                risk,
                child_workflow_ids=children.ids,
            )

        execution = await children.run(
            "execute",
            TradeExecutionWorkflow.run,
            request.child_input(
                TradeExecutionInput, quantity=risk.allowed_quantity, price=validation.price
            ),
        )
        trade = execution.execution
        reason = trade.reason or f"{trade.status.value}: {trade.quantity} at {trade.price}"
        return TradeWithChildrenResult(
            request.symbol, trade.status, reason, validation, risk, execution, children.ids
        )


WORKFLOWS: list[type] = [
    OrderValidationWorkflow,
    RiskCheckWorkflow,
    TradeExecutionWorkflow,
    TradeWithChildrenWorkflow,
]

__all__ = [
    "DEFAULT_MAX_NOTIONAL",
    "WORKFLOWS",
    "OrderValidationInput",
    "OrderValidationResult",
    "OrderValidationWorkflow",
    "RiskCheckInput",
    "RiskCheckResult",
    "RiskCheckWorkflow",
    "TradeExecutionInput",
    "TradeExecutionResult",
    "TradeExecutionWorkflow",
    "TradeWithChildrenInput",
    "TradeWithChildrenResult",
    "TradeWithChildrenWorkflow",
]
