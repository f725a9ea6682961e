"""Shared fixtures, constants and helpers of the reference tests (``conftest.py`` registers the
fixtures, so tests ask for ``desk``, ``make_desk`` or ``services`` without importing them).

The workflow tests (``test_wf_*.py``) run every pattern on a ``TradingDesk``: the ``temporal``
harness with the reference services behind it, so a test names the workflow and its input, and
reads the broker and the market it traded on.

Every test pins the market to ``AS_OF``: the simulator's bars depend only on their dates, so a
symbol keeps its character whatever day the suite runs. Where a test needs a particular market
(a buy signal, a risk score above the threshold), ``find_as_of`` searches the days after
``AS_OF`` with the domain's own pure functions, so the test states the condition it needs
instead of a magic date that would silently stop fitting if the simulator changed.

At ``AS_OF`` with 120 daily bars and the momentum strategy (the agent patterns' tests):

- AAPL: uptrend, the analysis says buy, risk 0.27: the agents buy.
- TSLA: high volatility, risk 0.74: above the 0.7 threshold, skipped.
- MSFT: risk 0.25 but no signal: the plan is to hold.
- PEP: sideways, mean reversion says buy, trend following holds.
- MS: uptrend; trend following says buy while mean reversion says sell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import History, TemporalHarness
from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.agents import Agents
from reference_workflows.analysis import compute_indicators
from reference_workflows.broker import (
    INVALID_BROKER_REQUEST,
    ORDER_NOT_FILLABLE,
    BrokerError,
    PaperBroker,
)
from reference_workflows.market import MarketDataService
from reference_workflows.models import MarketData, MarketDataRequest, TechnicalIndicators
from reference_workflows.workflows.trading import INVALID_WORKFLOW_INPUT, RetryOptions

_Input = TypeVar("_Input")
_Result = TypeVar("_Result")
#: A workflow's run method (``SomeWorkflow.run``), typed by the result it returns.
_RunMethod = Callable[[Any, Any], Awaitable[_Result]]

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)
STARTING_CASH = 100_000.0
BARS = 60
"""Bars the tests ask for: enough for every indicator (50), half the payload of the default."""

FAST_RETRY = RetryOptions(
    initial_interval_seconds=0.01,
    backoff_coefficient=1.0,
    maximum_interval_seconds=0.01,
    maximum_attempts=2,
)
"""Real retries, quick: activity retries wait in real time, even on the time-skipping server."""
AGENT_RETRY = replace(
    FAST_RETRY, initial_interval_seconds=0.05, maximum_interval_seconds=0.05, maximum_attempts=3
)
"""The agent patterns' retries: three attempts, enough for a reasoner that fails twice."""
UNTIL_BACK_UP = RetryOptions(
    initial_interval_seconds=0.05, backoff_coefficient=1.0, maximum_attempts=50
)
"""Retries that outlast an exchange a test takes down, queries mid-run, then brings back."""


@dataclass
class TradingDesk:
    """The test's ``temporal`` harness with the reference services behind it.

    ``start`` and ``run`` are the harness's, with the services' 23 activities registered (as
    every reference workflow needs them); ``broker`` and ``market`` are what the workflows
    traded on, for the test to arrange and to check.
    """

    temporal: TemporalHarness
    services: ReferenceServices

    @property
    def broker(self) -> PaperBroker:
        return self.services.broker

    @property
    def market(self) -> MarketDataService:
        return self.services.market

    async def start(
        self, workflow: _RunMethod[_Result], request: object, **options: Any
    ) -> WorkflowHandle[Any, _Result]:
        """``temporal.start(workflow, request, **options)`` on the services' activities."""
        return await self.temporal.start(
            workflow, request, activities=self.services.activities(), **options
        )

    async def run(self, workflow: _RunMethod[_Result], request: object, **options: Any) -> _Result:
        """``temporal.run(workflow, request, **options)`` on the services' activities."""
        result: _Result = await self.temporal.run(
            workflow, request, activities=self.services.activities(), **options
        )
        return result

    async def history(self, workflow: WorkflowHandle[Any, Any] | str | None = None) -> History:
        """The history of ``workflow``; by default of the first one the test started."""
        return await self.temporal.history(workflow or self.temporal.started_workflows[0])


@pytest.fixture(name="services")
def services_fixture(tmp_path: Path) -> ReferenceServices:
    """Fresh market, paper broker (its ledger in ``tmp_path``) and agents; ``.activities()``
    gives the same 23 activities as ``create_activities``, bound to these services."""
    return create_services(ledger_path=tmp_path / "ledger.sqlite3")


@pytest.fixture(name="desk")
def desk_fixture(temporal: TemporalHarness, services: ReferenceServices) -> TradingDesk:
    """A ``TradingDesk`` on the ``services`` fixture's fresh services."""
    return TradingDesk(temporal, services)


@pytest.fixture(name="make_desk")
def make_desk_fixture(temporal: TemporalHarness, tmp_path: Path) -> Callable[..., TradingDesk]:
    """Build a ``TradingDesk`` on services made with options (``starting_cash``,
    ``down_exchanges``, ``reasoner``, ``csv_dir``, broker options), or, with ``broker=``,
    around a broker of that ``PaperBroker`` subclass, which gets the options."""
    count = iter(range(1_000))

    def build(*, broker: Callable[..., PaperBroker] | None = None, **options: Any) -> TradingDesk:
        ledger_path = tmp_path / f"ledger-{next(count)}.sqlite3"
        if broker is None:
            return TradingDesk(temporal, create_services(ledger_path=ledger_path, **options))
        return TradingDesk(temporal, services_around(broker(ledger_path, **options)))

    return build


def services_around(broker: PaperBroker) -> ReferenceServices:
    """Fresh market and agents trading through ``broker``."""
    market = MarketDataService()
    return ReferenceServices(market, broker, Agents(market=market, broker=broker))


def pinned(input_type: Callable[..., _Input], *args: Any, **fields: Any) -> _Input:
    """``input_type(*args, **fields)`` on the market at ``AS_OF``, retrying with ``FAST_RETRY``,
    unless ``fields`` say otherwise."""
    return input_type(*args, **{"as_of": AS_OF, "retry": FAST_RETRY, **fields})


def pinned_inputs(
    input_type: Callable[..., _Input], *args: Any, **defaults: Any
) -> Callable[..., _Input]:
    """A test module's builder of ``input_type`` inputs: ``pinned(input_type, *args,
    **defaults)``, where a call's positional arguments replace ``args`` and its fields go on
    top of ``defaults``."""

    def build(*given: Any, **fields: Any) -> _Input:
        return pinned(input_type, *(given or args), **{**defaults, **fields})

    return build


def market_at(symbol: str, as_of: datetime, bars: int = BARS, exchange: str = "NYSE") -> MarketData:
    """The bars a workflow pinned to ``as_of`` sees."""
    return MarketDataService().load(MarketDataRequest(symbol, exchange, "1d", bars, as_of))


def indicators_at(symbol: str, as_of: datetime, bars: int = BARS) -> TechnicalIndicators:
    """The indicators a workflow pinned to ``as_of`` computes."""
    return compute_indicators(market_at(symbol, as_of, bars))


def find_as_of(
    symbol: str,
    wanted: Callable[[MarketData], bool],
    *,
    bars: int = BARS,
    start: datetime = AS_OF,
    days: int = 400,
) -> datetime:
    """The first day from ``start`` on which ``symbol``'s market satisfies ``wanted``.

    Raises:
        AssertionError: no such day within ``days`` days (the scenario does not exist).
    """
    for offset in range(days):
        moment = start + timedelta(days=offset)
        if wanted(market_at(symbol, moment, bars)):
            return moment
    raise AssertionError(f"no day in {days} from {start:%Y-%m-%d} has the market the test needs")


async def wait_for_query(
    handle: WorkflowHandle[Any, Any],
    query: Callable[..., Any],
    ready: Callable[[Any], bool] = lambda answer: answer is not None,
    *,
    attempts: int = 1_000,
) -> Any:
    """Query ``handle`` until ``ready(answer)`` (real time, bounded); return the answer."""
    answer = None
    for _ in range(attempts):
        answer = await handle.query(query)
        if ready(answer):
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError(f"{handle.id}: the query never became ready; last answer {answer!r}")


async def until_retrying(
    handle: WorkflowHandle[Any, Any], attempt: int = 2, *, count: int = 1
) -> str:
    """Wait (real time, bounded) until ``count`` activities of the workflow are pending, each
    at ``attempt`` or later; return the first one's name."""
    for _ in range(400):
        pending = (await handle.describe()).raw_description.pending_activities
        if len(pending) >= count and all(a.attempt >= attempt for a in pending):
            return str(pending[0].activity_type.name)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {count} activities of {handle.id} reached attempt {attempt}")


async def invalid_input_messages(
    desk: TradingDesk, run: Callable[..., Any], inputs: Sequence[object]
) -> list[str]:
    """Start a workflow per input (all at once); each must fail with ``InvalidWorkflowInput``.

    Returns:
        The failure messages, in the order of ``inputs``.
    """
    # Activities on the first start only: the worker it starts serves the rest. (Passing them
    # again makes the harness replace the worker, and a workflow task caught on the old one
    # waits out its 10 s task timeout.)
    first, *rest = inputs
    handles = [await desk.start(run, first)]
    handles += [await desk.temporal.start(run, request) for request in rest]
    messages = []
    for handle in handles:
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        error = failure.value.cause
        assert isinstance(error, ApplicationError), error
        assert (error.type, error.non_retryable) == (INVALID_WORKFLOW_INPUT, True), error
        messages.append(error.message)
    return messages


class _Refused(BrokerError, error_type=INVALID_BROKER_REQUEST):
    """The venue refuses the order."""


class _Unfillable(BrokerError, error_type=ORDER_NOT_FILLABLE):
    """The venue refuses to fill the order."""


#: What the venue says when it refuses each call it can refuse.
REFUSALS: dict[str, Callable[[Any], BrokerError]] = {
    "place_order": lambda request: _Refused(f"the venue refused the order for {request.symbol}"),
    "confirm_execution": lambda request: _Unfillable(
        f"the venue refused to fill {request.order_id}"
    ),
}


class RejectingBroker(PaperBroker):
    """A paper broker whose venue refuses new orders or fills, as a real venue can.

    The ledger is the real one, so a test checks the real effects of what ran before the
    refusal and of the compensations after it. The refusal comes from the ledger call behind
    the activity, so it reaches the workflow as every broker error does.

    Args:
        ledger_path: the SQLite ledger.
        reject: ``"place_order"`` or ``"confirm_execution"``: the call the venue refuses.
    """

    def __init__(self, ledger_path: str | Path, *, reject: str, **options: Any) -> None:
        super().__init__(ledger_path, **options)
        if reject not in REFUSALS:
            raise ValueError(f"reject={reject!r}; use one of {', '.join(map(repr, REFUSALS))}")
        self.reject = reject
        refusal = REFUSALS[reject]

        def refuse(request: Any) -> NoReturn:
            raise refusal(request)

        setattr(self.ledger, reject, refuse)


def rejecting_services(ledger_path: Path, reject: str) -> ReferenceServices:
    """Services whose broker refuses ``reject`` (see ``RejectingBroker``)."""
    return services_around(RejectingBroker(ledger_path, reject=reject))
