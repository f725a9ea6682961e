"""Versioning: a trading workflow that changed while runs of it were still open.

Release 1 of ``VersionedTradingWorkflow`` ran the trading agents in sequence: analysis, risk,
plan, execution. Release 2 re-reads the account just before executing (cash may have gone to
another trade since the plan was made) and skips a buy the cash no longer covers. That is a
new activity in the middle of the sequence: a run started under release 1 and replayed by a
release-2 worker would meet a ``get_account`` the history never recorded, and stop with a
nondeterminism error. So the new step runs only where ``workflow.patched(ACCOUNT_RECHECK)``
says the run started under release 2, and release 1's recorded histories
(``tests/histories/versioned-release-1/``) still replay; CI proves it on every change.

``Release1TradingWorkflow`` keeps release 1's code, to re-record those histories, and
``UnpatchedTradingWorkflow`` is the same change made without the patch: the replay tests show
it breaking release 1's histories. Neither is registered on workers (not in ``WORKFLOWS``).
Once no release-1 run is open, the guard becomes ``workflow.deprecate_patch(ACCOUNT_RECHECK)``
and then goes away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from reference_workflows.agents import Agents
    from reference_workflows.broker import PaperBroker
    from reference_workflows.models import (
        AccountRequest,
        AccountSnapshot,
        AgentContext,
        AgentDecision,
        AnalysisReport,
        ExecutionStatus,
        RiskAssessment,
        Signal,
        Strategy,
        TradingPlan,
    )
    from reference_workflows.risk import RISK_THRESHOLD
    from reference_workflows.workflows.common import (
        ActivityInput,
        TradeOutcome,
        apply_threshold,
        risk_too_high,
    )
    from reference_workflows.workflows.steps import act

#: The patch id of release 2's account re-check (recorded in the histories of its runs).
ACCOUNT_RECHECK = "recheck-account-before-execution"

ANALYSIS, RISK, PLAN, ACCOUNT, EXECUTION = "analysis", "risk", "plan", "account", "execution"


@dataclass
class VersionedTradingInput(ActivityInput):
    """A trade for the agents; ``as_of`` pins the market (default: workflow time)."""

    symbol: str
    strategy: Strategy = Strategy.MOMENTUM
    account_id: str = "paper"
    as_of: datetime | None = None
    risk_threshold: float = RISK_THRESHOLD


@dataclass
class VersionedTradingResult(TradeOutcome):
    """The trade's outcome and the steps that ran (``account`` from release 2)."""

    steps: list[str]


class _Pipeline:
    """The steps both releases share; each release says whether the account is re-read."""

    def __init__(self, request: VersionedTradingInput) -> None:
        self.request = request
        self.options = request.activity_options()
        self.steps: list[str] = []
        self.context = AgentContext(
            symbol=request.symbol,
            strategy=request.strategy,
            account_id=request.account_id,
            as_of=request.as_of or workflow.now(),
        )

    async def plan(self) -> TradingPlan | VersionedTradingResult:
        """Analysis, risk and plan: the plan, or the result when the trade stops there."""
        analysis: AnalysisReport = await workflow.execute_activity_method(
            Agents.analysis_agent, self.context, **self.options
        )
        self.context.analysis = analysis
        self.steps.append(ANALYSIS)
        assessed: RiskAssessment = await workflow.execute_activity_method(
            Agents.risk_agent, self.context, **self.options
        )
        risk = self.context.risk = apply_threshold(assessed, self.request.risk_threshold)
        self.steps.append(RISK)
        if risk.risk_score > self.request.risk_threshold:
            return self.result(ExecutionStatus.SKIPPED, risk_too_high(risk))
        plan: TradingPlan = await workflow.execute_activity_method(
            Agents.planning_agent, self.context, **self.options
        )
        self.steps.append(PLAN)
        if not plan.approved:
            return self.result(
                ExecutionStatus.SKIPPED, f"the plan is not to trade ({plan.signal.value})"
            )
        return plan

    async def account(self) -> AccountSnapshot:
        account: AccountSnapshot = await workflow.execute_activity_method(
            PaperBroker.get_account, AccountRequest(self.request.account_id), **self.options
        )
        self.steps.append(ACCOUNT)
        return account

    async def execute(self, plan: TradingPlan) -> VersionedTradingResult:
        decision = AgentDecision(
            agent="decision",
            symbol=plan.symbol,
            action=plan.signal,
            quantity=plan.quantity,
            confidence=self.context.analysis.confidence if self.context.analysis else 0.0,
            rationale=plan.rationale,
        )
        execution = await act(
            decision, self.request.account_id, plan.entry_price, self.options, summary=None
        )
        self.steps.append(EXECUTION)
        reason = (
            execution.reason
            or f"{execution.status.value}: {execution.quantity} at {execution.price}"
        )
        return self.result(execution.status, reason)

    async def run(self, recheck_account: Callable[[], bool]) -> VersionedTradingResult:
        """Plan; then, if ``recheck_account()`` says so, skip a buy the cash no longer covers;
        then execute."""
        plan = await self.plan()
        if isinstance(plan, VersionedTradingResult):
            return plan
        if recheck_account():
            short = _cash_short(plan, await self.account())
            if short is not None:
                return self.result(ExecutionStatus.SKIPPED, short)
        return await self.execute(plan)

    def result(self, status: ExecutionStatus, reason: str) -> VersionedTradingResult:
        return VersionedTradingResult(self.request.symbol, status, reason, list(self.steps))


def _cash_short(plan: TradingPlan, account: AccountSnapshot) -> str | None:
    if plan.signal is Signal.BUY and account.cash < plan.notional:
        return f"the cash ({account.cash:.2f}) no longer covers the plan ({plan.notional:.2f})"
    return None


@workflow.defn(name="VersionedTradingWorkflow")
class VersionedTradingWorkflow:
    """Release 2: the agents in sequence, and the account re-read before executing."""

    @workflow.run
    async def run(self, request: VersionedTradingInput) -> VersionedTradingResult:
        # Runs started under release 1 never re-read the account: their histories go
        # straight from the plan to the execution.
        return await _Pipeline(request).run(lambda: workflow.patched(ACCOUNT_RECHECK))


@workflow.defn(name="VersionedTradingWorkflow")
class Release1TradingWorkflow:
    """Release 1, kept only to re-record its histories."""

    @workflow.run
    async def run(self, request: VersionedTradingInput) -> VersionedTradingResult:
        return await _Pipeline(request).run(lambda: False)


@workflow.defn(name="VersionedTradingWorkflow")
class UnpatchedTradingWorkflow:
    """Release 2's change without ``workflow.patched``: it cannot replay release 1's runs."""

    @workflow.run
    async def run(self, request: VersionedTradingInput) -> VersionedTradingResult:
        return await _Pipeline(request).run(lambda: True)


WORKFLOWS: list[type] = [VersionedTradingWorkflow]
RELEASE_1: list[type] = [Release1TradingWorkflow]
UNPATCHED: list[type] = [UnpatchedTradingWorkflow]

__all__ = [
    "ACCOUNT_RECHECK",
    "RELEASE_1",
    "UNPATCHED",
    "WORKFLOWS",
    "Release1TradingWorkflow",
    "UnpatchedTradingWorkflow",
    "VersionedTradingInput",
    "VersionedTradingResult",
    "VersionedTradingWorkflow",
]
