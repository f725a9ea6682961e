"""The trading analyst: an OpenAI Agents SDK agent run as a Temporal workflow.

The agent gets three tools, each an activity of ``reference_workflows.analyst.AnalystTools``
offered with ``activity_as_tool`` (market snapshot, technical analysis, risk check), and
answers with a structured ``AnalystRecommendation``. temporalio's ``OpenAIAgentsPlugin`` (on
the worker and the client) makes each model call an activity too, so the whole conversation
is in the history: retried, replayable, and readable as a trajectory. The recommendation then
passes the desk's guardrail activity, so the risk limits hold whatever the model said.

This module imports the Agents SDK: the ``[agents]`` extra. ``workflows.ALL_WORKFLOWS`` leaves
it out when the SDK is not installed.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, AgentsException, Runner
    from temporalio.contrib.openai_agents.workflow import activity_as_tool

    from reference_workflows.analyst import (
        DEFAULT_ANALYST_MODEL,
        AnalystRecommendation,
        AnalystTools,
        GuardrailRequest,
    )
    from reference_workflows.workflows.common import AnalysisInput, invalid_input

ANALYST_FAILED = "AnalystFailed"
"""ApplicationError type when the agent gives up (too many turns, an answer that is not the
recommendation): the workflow fails at once rather than retrying its task forever."""

INSTRUCTIONS = """\
You are the trading analyst of a paper-trading desk. Recommend whether to buy, sell or hold \
{symbol} as of {as_of}. Use the tools, passing as_of={as_of} to each: market_snapshot for \
price action and sentiment, technical_analysis for the indicators' signal, then risk_check \
for the side you lean towards. Never recommend more shares than risk_check's \
max_position_size, and hold when it does not approve. Answer with the recommendation: \
action, quantity (0 for hold), confidence between 0 and 1, and a short rationale."""


@dataclass
class AnalystInput(AnalysisInput):
    """Ask the analyst about ``symbol``; ``model`` is the model name the agent asks for."""

    _: KW_ONLY
    model: str = DEFAULT_ANALYST_MODEL
    max_turns: int = 8
    tool_timeout_seconds: float = 30.0


@dataclass
class AnalystResult:
    """What the model proposed, and the recommendation after the guardrail."""

    symbol: str
    model: str
    proposed: AnalystRecommendation
    recommendation: AnalystRecommendation


@workflow.defn
class TradingAnalystWorkflow:
    """An Agents SDK agent with the desk's tools; its answer held to the risk limits."""

    @workflow.run
    async def run(self, request: AnalystInput) -> AnalystResult:
        if request.max_turns < 1:
            raise invalid_input(f"max_turns={request.max_turns!r}; give at least 1")
        as_of = request.as_of or workflow.now()
        day = as_of.date().isoformat()
        tool_options = {
            "start_to_close_timeout": timedelta(seconds=request.tool_timeout_seconds),
            "retry_policy": request.activity_options()["retry_policy"],
        }
        agent = Agent(
            name="Trading analyst",
            instructions=INSTRUCTIONS.format(symbol=request.symbol, as_of=day),
            model=request.model,
            tools=[
                activity_as_tool(AnalystTools.market_snapshot, **tool_options),
                activity_as_tool(AnalystTools.technical_analysis, **tool_options),
                activity_as_tool(AnalystTools.risk_check, **tool_options),
            ],
            output_type=AnalystRecommendation,
        )
        try:
            run = await Runner.run(
                agent, f"Should the desk trade {request.symbol}?", max_turns=request.max_turns
            )
        except AgentsException as error:
            # Not a Temporal error: left alone it would fail the workflow task, which Temporal
            # retries forever; the model's answers are in the history, so the run would only
            # fail the same way again.
            raise ApplicationError(
                f"the analyst agent failed: {error}", type=ANALYST_FAILED, non_retryable=True
            ) from error
        proposed = run.final_output_as(AnalystRecommendation, raise_if_incorrect_type=True)
        if proposed.symbol.upper() != request.symbol.upper():
            proposed.rationale.append(
                f"the model named {proposed.symbol}; this is {request.symbol}"
            )
            proposed.symbol = request.symbol
        guarded = await workflow.execute_activity_method(
            AnalystTools.guardrail,
            GuardrailRequest(
                proposed,
                as_of,
                account_id=request.account_id,
                exchange=request.exchange,
                bars=request.bars,
            ),
            summary="risk guardrail",
            **request.activity_options(),
        )
        return AnalystResult(request.symbol, request.model, proposed, guarded)


WORKFLOWS: list[type] = [TradingAnalystWorkflow]

__all__ = [
    "ANALYST_FAILED",
    "INSTRUCTIONS",
    "WORKFLOWS",
    "AnalystInput",
    "AnalystResult",
    "TradingAnalystWorkflow",
]
