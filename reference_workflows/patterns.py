"""The registry of runnable patterns: name -> workflow, input, description, progress queries.

Workflows are named by ``"module:Class"`` strings and imported on first use, so ``trading-agents
list`` and argument errors cost no workflow imports. Inputs are built from the command line's
``--symbol`` / ``--strategy`` by reading the workflow's input dataclass: every pattern module
follows the contract "one dataclass input with ``symbol`` (or ``symbols``) and defaults for the
rest", so one builder serves all, and a pattern only lists what differs (``overrides``).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .activities import ANALYST_TASK_QUEUE, MARKET_DATA_TASK_QUEUE, TRADING_TASK_QUEUE
from .display import scalar
from .models import Strategy

DEFAULT_SYMBOL = "AAPL"

UNKNOWN_PATTERN = "unknown pattern {name!r}{hint}; `trading-agents list` shows all {count} patterns"
UNKNOWN_STRATEGY = "unknown strategy {value!r}; choose one of: {choices}"
ONE_SYMBOL_ONLY = "pattern {pattern!r} trades one symbol, got {count}: {symbols}"
NO_STRATEGY = (
    "pattern {pattern!r} does not take a strategy (its input {input} has no 'strategy' field); "
    "drop --strategy"
)


APPROVAL = "approval"
CHAT = "chat"

NEEDS_AGENTS_EXTRA = (
    "pattern {pattern!r} runs on the OpenAI Agents SDK, which is not installed; "
    "install it with: pip install 'pytest-temporal-agents[agents]'"
)
NO_MESSAGES = "pattern {pattern!r} takes no --message; only chat patterns do ({chats})"


class PatternError(ValueError):
    """A pattern name or its options do not fit; the message is one line for the console."""


@dataclass(frozen=True)
class RunOptions:
    """What the command line says about a run, before it becomes a workflow input."""

    symbols: tuple[str, ...] = ()
    """Symbols given with ``--symbol`` (empty: the workflow's default)."""
    strategy: Strategy | None = None
    messages: tuple[str, ...] = ()
    """``--message`` texts for a chat pattern (empty: read them from the terminal)."""


@dataclass(frozen=True)
class Pattern:
    """One runnable workflow pattern."""

    name: str
    description: str
    workflow: str
    """``"module:Class"`` of the workflow, relative to ``reference_workflows.workflows``."""
    progress_queries: tuple[str, ...] = ()
    """Queries polled for the live progress display; none means "narrate the event history"."""
    aliases: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Input fields the CLI sets beyond symbol / strategy."""
    format_progress: Callable[[Any], str] | None = None
    """Renders a progress query's answer as one line (default: ``display.progress_line``)."""
    interaction: str | None = None
    """``APPROVAL``: waits for the ``approve`` signal, ``run`` says how to send it;
    ``CHAT``: ``run`` relays messages between the terminal and the workflow."""
    task_queue: str = TRADING_TASK_QUEUE
    """Where the workflow starts; ``ANALYST_TASK_QUEUE`` needs a model and the Agents SDK."""

    @property
    def needs_model(self) -> bool:
        """An agent that only a model can run (no rule-based fallback): the analyst."""
        return self.task_queue == ANALYST_TASK_QUEUE

    @property
    def workflow_class(self) -> type:
        """The workflow class (imports its module)."""
        module, _, attr = self.workflow.partition(":")
        try:
            imported = importlib.import_module(f"reference_workflows.workflows.{module}")
        except ImportError as error:
            if not self.needs_model or (error.name or "").startswith("reference_workflows"):
                raise
            raise PatternError(NEEDS_AGENTS_EXTRA.format(pattern=self.name)) from None
        cls: type = getattr(imported, attr)
        return cls

    @property
    def run_method(self) -> Callable[..., Any]:
        """The workflow's ``@workflow.run`` method, for ``client.start_workflow``."""
        from temporalio import workflow

        definition = workflow._Definition.must_from_class(self.workflow_class)
        return definition.run_fn

    @property
    def input_type(self) -> type:
        """The dataclass the run method takes."""
        hints = typing.get_type_hints(self.run_method)
        hints.pop("return", None)
        if len(hints) != 1:
            raise TypeError(f"{self.workflow}.run must take exactly one input, has {list(hints)}")
        (input_type,) = hints.values()
        return typing.cast(type, input_type)

    def progress_query(self, name: str) -> Callable[..., Any]:
        """The query method called ``name`` (typed, so answers decode to dataclasses)."""
        method: Callable[..., Any] = getattr(self.workflow_class, name)
        return method

    def build_input(self, options: RunOptions) -> Any:
        """The workflow input for ``options``.

        Raises:
            PatternError: the options do not fit this pattern's input.
        """
        if options.messages and self.interaction != CHAT:
            raise PatternError(NO_MESSAGES.format(pattern=self.name, chats=", ".join(_chats())))
        input_type = self.input_type
        fields = {f.name: f for f in dataclasses.fields(input_type)}
        values: dict[str, Any] = {}
        if "symbol" in fields:
            if len(options.symbols) > 1:
                raise PatternError(
                    ONE_SYMBOL_ONLY.format(
                        pattern=self.name,
                        count=len(options.symbols),
                        symbols=", ".join(options.symbols),
                    )
                )
            values["symbol"] = options.symbols[0] if options.symbols else DEFAULT_SYMBOL
        elif "symbols" in fields and options.symbols:
            values["symbols"] = _as_field_type(fields["symbols"], list(options.symbols))
        if options.strategy is not None:
            if "strategy" not in fields:
                raise PatternError(NO_STRATEGY.format(pattern=self.name, input=input_type.__name__))
            values["strategy"] = options.strategy
        if "market_data_task_queue" in fields:
            # The article's scaling section: market data on its own queue and worker.
            values["market_data_task_queue"] = MARKET_DATA_TASK_QUEUE
        values.update(self.overrides)
        return input_type(**values)


def _as_field_type(spec: dataclasses.Field[Any], values: list[str]) -> Any:
    """``values`` as a tuple when the field's default is one (frozen inputs use tuples)."""
    default: Any = spec.default
    factory: Any = spec.default_factory
    if default is dataclasses.MISSING and factory is not dataclasses.MISSING:
        default = factory()
    return tuple(values) if isinstance(default, tuple) else values


def _agent_board(statuses: Sequence[Any]) -> str:
    """The multi-agent board: ``research done, analysis running, ...``."""
    return ", ".join(f"{status.agent} {status.state}" for status in statuses) or "starting"


def _latest_iteration(iterations: Sequence[Any]) -> str:
    """The adaptive agent's latest observe-and-decide round."""
    if not iterations:
        return "observing the market"
    last = iterations[-1]
    return (
        f"iteration {last.number}: {scalar(last.strategy)} says {scalar(last.action)} "
        f"{last.quantity} (confidence {last.confidence:.0%})"
    )


def _pending_decision(pending: Any) -> str:
    """The approval workflow's proposal while it waits (None: not priced yet, or decided)."""
    if pending is None:
        return "no decision pending"
    return (
        f"awaiting approval: {scalar(pending.side)} {pending.quantity} {pending.symbol} at "
        f"{scalar(pending.price)} ({scalar(pending.notional)}), until {scalar(pending.expires_at)}"
    )


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "sequential",
        "fetch market data, analyse, assess risk and trade, one step after another",
        "sequential:SequentialTradingWorkflow",
    ),
    Pattern(
        "parallel",
        "fetch market data from several exchanges at once; failed exchanges are reported, "
        "not fatal",
        "parallel:ParallelMarketDataWorkflow",
    ),
    Pattern(
        "child",
        "a parent trade run as child workflows: order validation, risk check, execution",
        "child:TradeWithChildrenWorkflow",
        aliases=("sub-workflows", "children"),
    ),
    Pattern(
        "conditional",
        "pick a strategy by the market's volatility regime, then trade it",
        "conditional:ConditionalStrategyWorkflow",
    ),
    Pattern(
        "fan-out",
        "analyse a portfolio's symbols in parallel and aggregate (fan-out / fan-in)",
        "fan_out:PortfolioAnalysisWorkflow",
        aliases=("fan-in", "portfolio"),
    ),
    Pattern(
        "saga",
        "reserve capital, place and confirm an order; compensate in reverse on failure",
        "saga:TradeSagaWorkflow",
    ),
    Pattern(
        "polling",
        "place an order and poll its status with backoff until filled or out of attempts",
        "polling:OrderPollingWorkflow",
    ),
    Pattern(
        "approval",
        "plan a trade and wait for a human approval signal (with a timeout)",
        "event_driven:TradeApprovalWorkflow",
        aliases=("event-driven",),
        progress_queries=("pending_decision",),
        format_progress=_pending_decision,
        interaction=APPROVAL,
    ),
    Pattern(
        "chained",
        "research, then analysis, then trading, each its own workflow feeding the next",
        "chained:ChainedTradingWorkflow",
    ),
    Pattern(
        "automated",
        "four agents in sequence (market analysis, risk, decision, execution); 0.7 risk threshold",
        "trading:AutomatedTradingWorkflow",
        progress_queries=("get_progress",),
    ),
    Pattern(
        "enhanced-parallel",
        "the automated trader with market data from NYSE, NASDAQ and LSE in parallel",
        "trading:EnhancedParallelTradingWorkflow",
        progress_queries=("get_progress",),
    ),
    Pattern(
        "strategy-router",
        "route a trade to a trend-following, mean-reversion or adaptive child workflow",
        "strategy_router:StrategyRouterWorkflow",
        aliases=("router",),
    ),
    Pattern(
        "collaborative",
        "strategy agents vote and a coordinator forms a consensus trade",
        "agents:CollaborativeAgentsWorkflow",
    ),
    Pattern(
        "adaptive",
        "an agent that refines its decision over a bounded number of iterations",
        "agents:AdaptiveAgentWorkflow",
        progress_queries=("get_iterations",),
        format_progress=_latest_iteration,
        # The article's agent looks again after a day of new bars; a terminal demo can't wait.
        overrides={"observe_every_seconds": 1.0},
    ),
    Pattern(
        "long-running",
        "a conversational agent kept across signals, queryable, continuing as new",
        "agents:LongRunningAgentWorkflow",
        interaction=CHAT,
    ),
    Pattern(
        "multi-agent",
        "an orchestrator running research, analysis, risk, planning and action agents",
        "agents:MultiAgentOrchestrationWorkflow",
        progress_queries=("get_agent_statuses",),
        format_progress=_agent_board,
        aliases=("orchestration",),
    ),
    Pattern(
        "ai-agent",
        "a reasoning agent decides, an action agent executes with retries",
        "agents:AIAgentWorkflow",
    ),
    Pattern(
        "analyst",
        "an OpenAI Agents SDK analyst calls the desk's tools and recommends a trade "
        "(needs a model and the [agents] extra)",
        "analyst:TradingAnalystWorkflow",
        aliases=("trading-analyst",),
        task_queue=ANALYST_TASK_QUEUE,
    ),
)

_BY_NAME: dict[str, Pattern] = {
    key: pattern for pattern in PATTERNS for key in (pattern.name, *pattern.aliases)
}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _chats() -> list[str]:
    return [pattern.name for pattern in PATTERNS if pattern.interaction == CHAT]


def get_pattern(name: str) -> Pattern:
    """The pattern called ``name`` (or one of its aliases; ``_`` and ``-`` are the same).

    Raises:
        PatternError: no such pattern; the message suggests the closest names.
    """
    key = _normalise(name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise PatternError(UNKNOWN_PATTERN.format(name=name, hint=hint, count=len(PATTERNS)))


def parse_strategy(value: str) -> Strategy:
    """A ``Strategy`` from its value, case-insensitive, ``-`` and ``_`` alike.

    Raises:
        PatternError: not a strategy; the message lists the valid ones.
    """
    key = value.strip().lower().replace("-", "_")
    for strategy in Strategy:
        if key in (strategy.value, strategy.name.lower()):
            return strategy
    raise PatternError(UNKNOWN_STRATEGY.format(value=value, choices=", ".join(strategy_names())))


def strategy_names() -> list[str]:
    """The strategies as typed on the command line."""
    return [s.value.replace("_", "-") for s in Strategy]


def parse_symbols(values: Sequence[str]) -> tuple[str, ...]:
    """Symbols from repeated and comma-separated ``--symbol`` values, upper-cased, in order."""
    symbols: list[str] = []
    for value in values:
        for part in value.split(","):
            symbol = part.strip().upper()
            if symbol and symbol not in symbols:
                symbols.append(symbol)
    return tuple(symbols)
