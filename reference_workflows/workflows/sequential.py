"""Sequential: each step needs the one before it, so they run one after another.

``SequentialTradingWorkflow`` fetches the symbol's bars, computes their indicators, reads the
account, asks the risk model about the trade and, if risk approves, trades. Every step is an
activity, so a crash anywhere resumes after the last step that finished: the history holds the
bars, the indicators and the risk verdict, and nothing is fetched or traded twice.

Three outcomes: FILLED; SKIPPED when risk does not approve (the reason is risk's first reason);
REJECTED when the broker refuses (not enough cash or shares), which is an answer about the
trade, not a failure of the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from reference_workflows.models import (
        ExecutionStatus,
        RiskAssessment,
        Side,
        Strategy,
        TechnicalIndicators,
        TradeExecution,
    )
    from reference_workflows.workflows.common import OrderInput, check_quantity
    from reference_workflows.workflows.steps import assess_order, execute_once

FETCH = "fetch_market_data"
INDICATORS = "calculate_technical_indicators"
ACCOUNT = "get_account"
RISK = "assess_risk"
EXECUTE = "execute_trade"
STEPS = [FETCH, INDICATORS, ACCOUNT, RISK, EXECUTE]
"""The steps in order; ``SequentialTradingResult.steps`` lists those that ran."""


@dataclass
class SequentialTradingInput(OrderInput):
    """A trade to check and place: ``quantity`` shares, capped at risk's position limit.

    ``as_of`` pins the market to a moment (default: workflow time); ``market_data_task_queue``
    sends the market-data and indicator steps to their own workers (default: this queue).
    """


@dataclass
class SequentialTradingResult:
    """What each step produced, and the trade's outcome (FILLED, SKIPPED or REJECTED)."""

    symbol: str
    strategy: Strategy
    side: Side
    status: ExecutionStatus
    indicators: TechnicalIndicators
    risk: RiskAssessment
    execution: TradeExecution
    steps: list[str] = field(default_factory=list)


@workflow.defn
class SequentialTradingWorkflow:
    """Market data, indicators, account, risk and execution, strictly in that order."""

    @workflow.run
    async def run(self, request: SequentialTradingInput) -> SequentialTradingResult:
        check_quantity(request.quantity)
        market, risk = await assess_order(request)
        indicators = market.indicators
        steps = [FETCH, INDICATORS, ACCOUNT, RISK]

        if not risk.approved:
            execution = TradeExecution(
                ExecutionStatus.SKIPPED,
                request.symbol,
                reason=f"risk did not approve: {'; '.join(risk.reasons)}",
            )
        else:
            quantity = min(request.quantity, risk.max_position_size)
            execution = await execute_once(
                request.account_id,
                request.symbol,
                request.side,
                quantity,
                indicators.last_price,
                request.activity_options(),
            )
            steps.append(EXECUTE)
        return SequentialTradingResult(
            request.symbol,
            Strategy(request.strategy),
            Side(request.side),
            execution.status,
            indicators,
            risk,
            execution,
            steps,
        )


WORKFLOWS: list[type] = [SequentialTradingWorkflow]

__all__ = [
    "STEPS",
    "WORKFLOWS",
    "SequentialTradingInput",
    "SequentialTradingResult",
    "SequentialTradingWorkflow",
]
