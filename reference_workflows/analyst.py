"""The trading analyst's tools and guardrail: activities over the reference system's services.

The analyst (``workflows/analyst.py``) is an OpenAI Agents SDK agent run as a workflow through
temporalio's ``OpenAIAgentsPlugin``: each model call is an activity the plugin registers, and
each tool below is an activity of its own, offered to the model with ``activity_as_tool``. The
tools answer what the desk's agents compute (market summary and sentiment, indicators and
their signal, the risk model's verdict), as short JSON texts a model reads well.

A tool the model calls with bad arguments (an unknown symbol, a malformed date) answers with
an ``error`` for the model to correct, as a function tool would; a failure that another attempt
can get past (an exchange that is down) fails the activity, and Temporal retries it.

This module needs neither the Agents SDK nor a model client: ``analyst_plugin`` imports the
plugin (the ``[agents]`` extra) when called.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from temporalio import activity

from .activities import ANALYST_TASK_QUEUE
from .agents import Agents, analyse, research
from .analysis import compute_indicators
from .models import AgentContext, RiskAssessmentRequest, Signal, TradingError, run_in_thread
from .risk import evaluate_risk

if TYPE_CHECKING:
    from temporalio.plugin import SimplePlugin

__all__ = [
    "ANALYST_TASK_QUEUE",
    "DEFAULT_ANALYST_MODEL",
    "DISABLE_TRACING_ENV",
    "AnalystRecommendation",
    "AnalystTools",
    "GuardrailRequest",
    "analyst_plugin",
    "parse_as_of",
]

DEFAULT_ANALYST_MODEL = "gpt-4o-mini"
DISABLE_TRACING_ENV = "OPENAI_AGENTS_DISABLE_TRACING"


@dataclass
class AnalystRecommendation:
    """What the analyst recommends for one symbol (the agent's structured output)."""

    symbol: str
    action: Signal
    quantity: int
    confidence: float
    rationale: list[str]


@dataclass
class GuardrailRequest:
    """A recommendation to hold to the risk model's limits, on the market the tools read."""

    recommendation: AnalystRecommendation
    as_of: datetime
    account_id: str = "paper"
    exchange: str = "NYSE"
    bars: int = 120
    notes: list[str] = field(default_factory=list)


def parse_as_of(as_of: str) -> datetime:
    """A tool's ``as_of`` (``YYYY-MM-DD`` or an ISO timestamp) as a UTC datetime.

    Raises:
        ValueError: not such a date; the message gives the expected form.
    """
    try:
        moment = datetime.fromisoformat(as_of.strip())
    except (AttributeError, ValueError):
        raise ValueError(f"as_of={as_of!r} is not a date; give YYYY-MM-DD") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class AnalystTools:
    """The analyst's tools (activities), computed by the desk's ``Agents`` services.

    Args:
        agents: the agents whose market data, analysis and risk the tools answer from.
        bars: how many daily bars each tool reads.
    """

    def __init__(self, agents: Agents | None = None, *, bars: int = 120) -> None:
        self.agents = agents or Agents()
        self.bars = bars

    def activities(self) -> list[Any]:
        """The tool activities and the guardrail, for a worker."""
        return [self.market_snapshot, self.technical_analysis, self.risk_check, self.guardrail]

    def _context(self, symbol: str, as_of: str) -> AgentContext:
        return AgentContext(symbol.strip().upper(), bars=self.bars, as_of=parse_as_of(as_of))

    def _answer(self, compute: Any, *args: Any) -> str:
        """``compute(*args)`` as JSON; a mistake in the model's arguments as ``{"error"}``."""
        try:
            return json.dumps(compute(*args), default=_plain)
        except TradingError as error:
            if error.retryable:
                raise  # another attempt may succeed: let Temporal retry
            return json.dumps({"error": str(error)})
        except ValueError as error:
            return json.dumps({"error": str(error)})

    def _snapshot(self, symbol: str, as_of: str) -> dict[str, Any]:
        report = research(self.agents.market_data(self._context(symbol, as_of)))
        return {
            "symbol": report.symbol,
            "last_price": round(report.last_price, 2),
            "period_return": round(report.period_return, 4),
            "sentiment": report.sentiment_label,
            "headlines": report.headlines,
            "summary": report.summary,
        }

    def _analysis(self, symbol: str, as_of: str) -> dict[str, Any]:
        report = analyse(compute_indicators(self.agents.market_data(self._context(symbol, as_of))))
        ind = report.indicators
        return {
            "symbol": report.symbol,
            "signal": report.signal,
            "confidence": report.confidence,
            "trend": ind.trend,
            "rsi_14": round(ind.rsi_14, 1),
            "macd_histogram": round(ind.macd_histogram, 3),
            "volatility": round(ind.volatility, 3),
            "rationale": report.rationale,
        }

    def _risk(self, symbol: str, side: str, as_of: str) -> dict[str, Any]:
        signal = Signal(side.strip().lower()) if side.strip().lower() in _SIDES else None
        if signal is None:
            raise ValueError(f"side={side!r}; give 'buy' or 'sell'")
        risk = self._assess(self._context(symbol, as_of), signal)
        return {
            "symbol": risk.symbol,
            "side": signal,
            "risk_score": risk.risk_score,
            "threshold": risk.threshold,
            "approved": risk.approved,
            "max_position_size": risk.max_position_size,
            "reasons": risk.reasons,
        }

    def _assess(self, context: AgentContext, signal: Signal) -> Any:
        data = self.agents.market_data(context)
        trade = context.trade_request(signal.side)
        equity, cash = 100_000.0, None
        if self.agents.broker is not None:
            account = self.agents.broker.snapshot(context.account_id)
            equity, cash = account.value_at({}), account.cash
        return evaluate_risk(
            RiskAssessmentRequest(trade, data, compute_indicators(data), equity, cash)
        )

    @activity.defn
    async def market_snapshot(self, symbol: str, as_of: str) -> str:
        """Recent price action and news sentiment of a stock.

        Args:
            symbol: the ticker, e.g. AAPL.
            as_of: the analysis date, YYYY-MM-DD.
        """
        return await run_in_thread(lambda a: self._answer(self._snapshot, *a), (symbol, as_of))

    @activity.defn
    async def technical_analysis(self, symbol: str, as_of: str) -> str:
        """Technical indicators of a stock and the buy, sell or hold signal they give.

        Args:
            symbol: the ticker, e.g. AAPL.
            as_of: the analysis date, YYYY-MM-DD.
        """
        return await run_in_thread(lambda a: self._answer(self._analysis, *a), (symbol, as_of))

    @activity.defn
    async def risk_check(self, symbol: str, side: str, as_of: str) -> str:
        """The risk model's verdict on trading a stock: approved or not, and the most shares.

        Args:
            symbol: the ticker, e.g. AAPL.
            side: buy or sell.
            as_of: the analysis date, YYYY-MM-DD.
        """
        return await run_in_thread(lambda a: self._answer(self._risk, *a), (symbol, side, as_of))

    @activity.defn
    async def guardrail(self, request: GuardrailRequest) -> AnalystRecommendation:
        """Activity (not a tool): hold the recommendation to the risk model, whatever the
        model said: HOLD when risk does not approve, the size clamped to the maximum."""
        return await run_in_thread(self._guard, request)

    def _guard(self, request: GuardrailRequest) -> AnalystRecommendation:
        proposed = request.recommendation
        action = Signal(proposed.action)
        if action is Signal.HOLD:
            return replace(proposed, quantity=0)
        context = AgentContext(
            proposed.symbol,
            account_id=request.account_id,
            exchange=request.exchange,
            bars=request.bars,
            as_of=request.as_of,
        )
        risk = self._assess(context, action)
        notes = list(proposed.rationale)
        if not risk.approved:
            notes.append(f"guardrail: risk score {risk.risk_score:.2f} not approved: hold")
            return replace(proposed, action=Signal.HOLD, quantity=0, rationale=notes)
        quantity = min(max(proposed.quantity, 0), risk.max_position_size)
        if quantity != proposed.quantity:
            notes.append(
                f"guardrail: {proposed.quantity} shares clamped to the risk limit of "
                f"{risk.max_position_size}"
            )
        return replace(proposed, quantity=quantity, rationale=notes)


_SIDES = {Signal.BUY.value, Signal.SELL.value}


def _plain(value: Any) -> Any:
    return getattr(value, "value", str(value))


def analyst_plugin(
    *,
    model_timeout: timedelta = timedelta(seconds=60),
    maximum_attempts: int = 3,
    tracing: bool = False,
) -> SimplePlugin:
    """temporalio's ``OpenAIAgentsPlugin`` as the analyst needs it: model calls through chat
    completions (which every OpenAI-compatible server speaks, local ones included; see
    ``analyst_provider``), each call an activity with ``model_timeout`` and
    ``maximum_attempts`` attempts.

    ``tracing=False`` (the default) turns the Agents SDK's trace export off in this process:
    it sends traces to api.openai.com whatever the base URL, which a test or a local model
    must not do. ``set_tracing_disabled`` alone is not enough: the plugin installs a trace
    provider of its own for each worker, which reads ``OPENAI_AGENTS_DISABLE_TRACING``, so
    that is set too (unless already set). Turn tracing on to see the analyst's runs in
    OpenAI's trace viewer.

    Raises:
        ExtraMissingError: the Agents SDK or its plugin (the ``[agents]`` extra) is missing.
    """
    from temporalio.common import RetryPolicy

    from .reasoners import require

    require("agents", "agents", "the trading analyst")
    contrib = require("temporalio.contrib.openai_agents", "agents", "the trading analyst")
    from agents import set_tracing_disabled

    from .analyst_provider import PerLoopChatProvider

    set_tracing_disabled(not tracing)
    if not tracing:
        os.environ.setdefault(DISABLE_TRACING_ENV, "1")

    plugin: SimplePlugin = contrib.OpenAIAgentsPlugin(
        model_params=contrib.ModelActivityParameters(
            start_to_close_timeout=model_timeout,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), maximum_attempts=maximum_attempts
            ),
        ),
        model_provider=PerLoopChatProvider(),
    )
    return plugin
