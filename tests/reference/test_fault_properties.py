"""Properties over fault plans: whatever fails, the broker ledger neither loses nor duplicates.

Hypothesis draws fault plans (retryable and non-retryable errors, results lost after the
activity ran, worker crashes) for the saga and the automated trading workflow; each example
runs in its own harness (``temporal.isolated()``) against a fresh paper broker. After every
example the ledger must balance: cash + reserved + positions at their fill prices equals the
starting cash, no order is filled twice, no reservation is left open.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_fixtures import AS_OF
from temporalio.client import WorkflowFailureError

from pytest_temporal_agents import FaultPlan, TemporalHarness
from pytest_temporal_agents.faults import non_retryable_error, retryable_error
from pytest_temporal_agents.strategies import fault_plans
from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.agents import Agents
from reference_workflows.broker import PaperBroker
from reference_workflows.models import ExecutionStatus
from reference_workflows.workflows.common import error_type
from reference_workflows.workflows.saga import (
    TRADE_SAGA_COMPENSATION_FAILED,
    TRADE_SAGA_FAILED,
    TradeSagaInput,
    TradeSagaWorkflow,
)
from reference_workflows.workflows.trading import AutomatedTradingInput, AutomatedTradingWorkflow

STARTING_CASH = 100_000.0
EXAMPLES = 100
KINDS = ["retryable_error", "non_retryable_error", "worker_crash"]

SAGA_STEPS = [PaperBroker.reserve_capital, PaperBroker.place_order, PaperBroker.confirm_execution]
COMPENSATIONS = [PaperBroker.release_capital, PaperBroker.cancel_order]
AGENTS = [Agents.analysis_agent, Agents.risk_agent, Agents.planning_agent, Agents.action_agent]

#: The saga's steps: retryable errors (also after the step ran: its retry must not apply it
#: twice), crashes, and permanent errors, before or after the step did its work (a lost
#: result, then a failure for good: the saga compensates a step it never saw succeed, which
#: is why it registers each compensation before running its step). Its compensations:
#: retryable errors only (they retry patiently; one that fails for good is the documented
#: "ledger needs a human" outcome).
saga_plans = st.tuples(
    fault_plans(activities=SAGA_STEPS, max_faults=2, kinds=["retryable_error", "worker_crash"]),
    fault_plans(activities=SAGA_STEPS, max_faults=1, kinds=["non_retryable_error"]),
    fault_plans(activities=COMPENSATIONS, max_faults=1, kinds=["retryable_error"]),
).map(lambda parts: FaultPlan(*parts))
trading_plans = fault_plans(activities=AGENTS, max_faults=3, kinds=KINDS)

_ledgers = itertools.count()


SAGA = TradeSagaInput("AAPL", quantity=10, limit_price=190.0, as_of=AS_OF)
"""The trade every saga example runs."""


def fresh_services(directory: Path) -> ReferenceServices:
    ledger_path = directory / f"ledger-{next(_ledgers)}.sqlite3"
    return create_services(ledger_path=ledger_path, starting_cash=STARTING_CASH)


def saga_activities(broker: PaperBroker) -> list[object]:
    """The saga's steps and compensations, bound to ``broker``."""
    return [getattr(broker, step.__name__) for step in SAGA_STEPS + COMPENSATIONS]


def ledger_problems(broker: PaperBroker) -> list[str]:
    """What is wrong with the ledger: money lost or made, a double fill, an open reservation."""
    account = broker.snapshot()
    held = sum(position.cost_basis for position in account.positions)
    problems = []
    if abs(account.cash + account.reserved + held - STARTING_CASH) > 1e-6:
        problems.append(f"cash {account.cash} + reserved {account.reserved} + positions {held} != {STARTING_CASH}")
    fills = broker.fills()
    orders = [fill.order_id for fill in fills]
    if len(set(orders)) != len(orders):
        problems.append(f"an order filled twice: {orders}")
    shares = {p.symbol: p.quantity for p in account.positions if p.quantity}
    filled: dict[str, int] = {}
    for fill in fills:
        filled[fill.symbol] = filled.get(fill.symbol, 0) + fill.quantity
    if shares != filled:
        problems.append(f"positions {shares} do not match the fills {filled}")
    if broker.open_reservations():
        problems.append(f"reservations left open: {broker.open_reservations()}")
    return problems


@settings(max_examples=EXAMPLES, database=None)
@given(plan=saga_plans)
async def test_the_saga_keeps_the_ledger_whole_whatever_fails(
    temporal: TemporalHarness, tmp_path: Path, plan: FaultPlan
) -> None:
    broker = fresh_services(tmp_path).broker
    async with temporal.isolated(replay_check=False) as t:
        t.inject(plan)
        try:
            result = await t.run(TradeSagaWorkflow.run, SAGA, activities=saga_activities(broker))
        except WorkflowFailureError as failure:
            # Failed steps are compensated; only a confirmation whose result was lost after
            # the fill leaves something to undo that cannot be (the order is filled).
            assert error_type(failure) in (TRADE_SAGA_FAILED, TRADE_SAGA_COMPENSATION_FAILED)
        else:
            assert [(f.order_id, f.quantity) for f in broker.fills()] == [(result.order.order_id, 10)]
    assert ledger_problems(broker) == []


@pytest.mark.parametrize("step", [PaperBroker.reserve_capital, PaperBroker.place_order])
async def test_a_step_that_took_effect_then_failed_for_good_is_undone(
    temporal: TemporalHarness, tmp_path: Path, step: object
) -> None:
    # The smallest plan the property above found when compensations were pushed only after
    # their steps succeeded: the first attempt runs, its result is lost, the retry fails.
    broker = fresh_services(tmp_path).broker
    temporal.inject(
        FaultPlan(retryable_error(step, after_running=True), non_retryable_error(step, attempts=[2]))
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(TradeSagaWorkflow.run, SAGA, activities=saga_activities(broker))
    assert error_type(failure.value) == TRADE_SAGA_FAILED
    [details] = failure.value.cause.details  # type: ignore[union-attr]
    # The step never completed for the workflow, yet what it did is undone.
    assert details["failed_step"] == step.__name__ and step.__name__ not in details["completed_steps"]  # type: ignore[attr-defined]
    assert details["compensations"] == (
        ["release_capital"] if step is PaperBroker.reserve_capital else ["cancel_order", "release_capital"]
    )
    assert ledger_problems(broker) == []
    assert [o.status.value for o in broker.orders()] == ([] if step is PaperBroker.reserve_capital else ["cancelled"])


@settings(max_examples=EXAMPLES, database=None)
@given(plan=trading_plans)
async def test_automated_trading_keeps_the_ledger_whole_whatever_fails(
    temporal: TemporalHarness, tmp_path: Path, plan: FaultPlan
) -> None:
    services = fresh_services(tmp_path)
    agents = services.agents
    activities = [getattr(agents, agent.__name__) for agent in AGENTS]
    async with temporal.isolated(replay_check=False) as t:
        t.inject(plan)
        try:
            result = await t.run(
                AutomatedTradingWorkflow.run, AutomatedTradingInput("AAPL", as_of=AS_OF), activities=activities
            )
        except WorkflowFailureError:
            assert len(services.broker.fills()) <= 1  # a lost result may follow a fill
        else:
            assert result.status is ExecutionStatus.FILLED
            assert [f.quantity for f in services.broker.fills()] == [result.execution.quantity]
    assert ledger_problems(services.broker) == []


def test_the_ledger_check_sees_lost_money_double_fills_and_open_reservations(tmp_path: Path) -> None:
    from reference_workflows.models import ExecuteTradeRequest, ReserveCapitalRequest, Side

    broker = fresh_services(tmp_path).broker
    assert ledger_problems(broker) == []
    broker.ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, 5, "one", 100.0))
    broker.ledger.reserve_capital(ReserveCapitalRequest("paper", 250.0, "hold"))
    assert ledger_problems(broker) == [
        "reservations left open: " + repr(broker.open_reservations()),
    ]
    with broker.ledger._connect() as conn:  # a bug that loses money, written straight to the ledger
        conn.execute("UPDATE accounts SET cash = cash - 1")
    assert ledger_problems(broker)[0].startswith("cash ")


@pytest.fixture(autouse=True)
def _quiet_activity_failure_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Every injected failure is logged by the SDK with a traceback; hundreds of examples
    # would drown a failing example's report.
    caplog.set_level("CRITICAL", logger="temporalio.activity")
