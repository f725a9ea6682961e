"""Every activity of the reference system, bound to fresh service instances, and their task queues.

Workers register the callables this module returns; workflows name activities by the same
functions (``workflow.execute_activity_method(MarketDataService.fetch_market_data, ...)`` or
``workflow.execute_activity(calculate_technical_indicators, ...)``), so names always match.

For the article's scaling section the activities split over two task queues: market data and
analysis, which are CPU-light and can run many at once, and trading, which touches the ledger and
the account. A worker per queue can then be scaled (or placed) on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .agents import Agents, Reasoner
from .analysis import calculate_technical_indicators
from .broker import PaperBroker
from .market import CsvMarketData, MarketDataService
from .risk import assess_risk

MARKET_DATA_TASK_QUEUE = "market-data-agents"
TRADING_TASK_QUEUE = "trading-agents"
ANALYST_TASK_QUEUE = "analyst-agents"
"""The Agents SDK analyst's own queue: its worker carries temporalio's ``OpenAIAgentsPlugin``
(and the plugin's data converter), which the other patterns' workers need not share."""

MARKET_DATA_ACTIVITY_NAMES = frozenset(
    {
        "fetch_market_data",
        "get_quote",
        "calculate_technical_indicators",
        "research_agent",
        "analysis_agent",
        "momentum_agent",
        "trend_following_agent",
        "mean_reversion_agent",
        "adaptive_agent",
    }
)
"""Activities served on ``MARKET_DATA_TASK_QUEUE``; every other one is on ``TRADING_TASK_QUEUE``."""


@dataclass(frozen=True)
class ReferenceServices:
    """The service objects behind the activities, for tests that inspect them (the ledger)."""

    market: MarketDataService
    broker: PaperBroker
    agents: Agents

    def activities(self) -> list[Callable[..., Any]]:
        """Every activity callable, bound to these services."""
        market, broker, agents = self.market, self.broker, self.agents
        return [
            market.fetch_market_data,
            market.get_quote,
            calculate_technical_indicators,
            assess_risk,
            broker.reserve_capital,
            broker.release_capital,
            broker.place_order,
            broker.cancel_order,
            broker.confirm_execution,
            broker.get_order_status,
            broker.get_account,
            broker.execute_trade,
            agents.research_agent,
            agents.analysis_agent,
            agents.risk_agent,
            agents.planning_agent,
            agents.reasoning_agent,
            agents.action_agent,
            agents.coordinator_agent,
            agents.momentum_agent,
            agents.trend_following_agent,
            agents.mean_reversion_agent,
            agents.adaptive_agent,
        ]


def create_services(
    *,
    ledger_path: str | Path,
    starting_cash: float = 100_000.0,
    down_exchanges: Iterable[str] = (),
    reasoner: Reasoner | None = None,
    csv_dir: str | Path | None = None,
    **broker_options: Any,
) -> ReferenceServices:
    """Fresh, wired-together services.

    Args:
        ledger_path: the paper broker's SQLite file.
        starting_cash: cash of each account the first time it is used.
        down_exchanges: exchanges whose market data fails with retryable errors.
        reasoner: the agents' reasoner; ``RuleBasedReasoner()`` by default.
        csv_dir: serve market data from the CSV files here instead of the simulator.
        **broker_options: ``fill_after_checks``, ``fill_after``, ``clock``, ``price_source``.
    """
    provider = CsvMarketData.from_directory(csv_dir) if csv_dir is not None else None
    market = MarketDataService(provider, down_exchanges=down_exchanges)
    broker = PaperBroker(ledger_path, starting_cash=starting_cash, **broker_options)
    agents = Agents(reasoner, market=market, broker=broker)
    return ReferenceServices(market, broker, agents)


def create_activities(*, ledger_path: str | Path, **options: Any) -> list[Callable[..., Any]]:
    """Every activity callable, bound to fresh services.

    Args:
        ledger_path: the paper broker's SQLite file.
        **options: the other options of ``create_services`` (``starting_cash``,
            ``down_exchanges``, ``reasoner``, ``csv_dir``, broker options).
    """
    return create_services(ledger_path=ledger_path, **options).activities()


def activity_name(fn: Callable[..., Any]) -> str:
    """The registered name of an activity from this package (its function name)."""
    # Safe because no activity here passes a custom name to @activity.defn.
    return fn.__name__


def split_by_task_queue(
    activities: Sequence[Callable[..., Any]],
) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]:
    """(market-data activities, trading activities) for workers on the two task queues."""
    market = [fn for fn in activities if activity_name(fn) in MARKET_DATA_ACTIVITY_NAMES]
    trading = [fn for fn in activities if activity_name(fn) not in MARKET_DATA_ACTIVITY_NAMES]
    return market, trading


def create_activities_by_task_queue(
    *, ledger_path: str | Path, **options: Any
) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]:
    """Like ``create_activities`` (same options), split into (``MARKET_DATA_TASK_QUEUE``
    activities, ``TRADING_TASK_QUEUE`` activities), both bound to the same services."""
    return split_by_task_queue(create_activities(ledger_path=ledger_path, **options))
