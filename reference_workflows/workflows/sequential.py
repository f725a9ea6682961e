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
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from reference_workflows.analysis import calculate_technical_indicators
    from reference_workflows.broker import PaperBroker
    from reference_workflows.market import MarketDataService
    from reference_workflows.models import (
        AccountRequest,
        ExecutionStatus,
        MarketData,
        MarketDataRequest,
        RiskAssessment,
        RiskAssessmentRequest,
        Side,
        Strategy,
        TechnicalIndicators,
        TradeExecution,
        TradeRequest,
    )
    from reference_workflows.risk import assess_risk
    from reference_workflows.workflows.trading import (
        RetryOptions,
        execute_once,
        invalid_input,
        retry_policy,
    )

FETCH = "fetch_market_data"
INDICATORS = "calculate_technical_indicators"
ACCOUNT = "get_account"
RISK = "assess_risk"
EXECUTE = "execute_trade"
STEPS = [FETCH, INDICATORS, ACCOUNT, RISK, EXECUTE]
"""The steps in order; ``SequentialTradingResult.steps`` lists those that ran."""


@dataclass
class SequentialTradingInput:
    """A trade to check and place: ``quantity`` shares, capped at risk's position limit.

    ``as_of`` pins the market to a moment (default: workflow time); ``market_data_task_queue``
    sends the market-data and indicator steps to their own workers (default: this queue).
    """

    symbol: str
    strategy: Strategy = Strategy.MOMENTUM
    side: Side = Side.BUY
    quantity: int = 10
    account_id: str = "paper"
    exchange: str = "NYSE"
    timeframe: str = "1d"
    bars: int = 120
    as_of: datetime | None = None
    retry: RetryOptions = field(default_factory=RetryOptions)
    activity_timeout_seconds: float = 30.0
    market_data_task_queue: str | None = None


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
        if request.quantity < 1:
            raise invalid_input(f"quantity={request.quantity!r}; trade at least 1 share")
        steps: list[str] = []
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(seconds=request.activity_timeout_seconds),
            "retry_policy": retry_policy(request.retry),
        }
        market = dict(options, task_queue=request.market_data_task_queue)
        # Pinned once: a retried or replayed fetch asks for the very same bars.
        as_of = request.as_of or workflow.now()

        data: MarketData = await workflow.execute_activity_method(
            MarketDataService.fetch_market_data,
            MarketDataRequest(
                request.symbol, request.exchange, request.timeframe, request.bars, as_of
            ),
            **market,
        )
        steps.append(FETCH)
        indicators: TechnicalIndicators = await workflow.execute_activity(
            calculate_technical_indicators, data, **market
        )
        steps.append(INDICATORS)
        account = await workflow.execute_activity_method(
            PaperBroker.get_account, AccountRequest(request.account_id), **options
        )
        steps.append(ACCOUNT)
        trade = TradeRequest(
            request.symbol,
            request.strategy,
            request.side,
            quantity=request.quantity,
            account_id=request.account_id,
            exchange=request.exchange,
        )
        risk: RiskAssessment = await workflow.execute_activity(
            assess_risk,
            RiskAssessmentRequest(
                trade,
                data,
                indicators,
                account_equity=account.value_at({request.symbol: indicators.last_price}),
                available_cash=account.cash,
            ),
            **options,
        )
        steps.append(RISK)

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
                options,
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
