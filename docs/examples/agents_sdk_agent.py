"""An OpenAI Agents SDK agent run as a Temporal workflow: docs/how-to/openai-agents-sdk.md.

temporalio's ``OpenAIAgentsPlugin`` turns every model call of ``Runner.run`` into an
activity (``invoke_model_activity``) that calls OpenAI's Responses API with the unmodified
openai client: no base URL and no key in the code, only the environment, as in
production. ``get_price`` is an activity offered to the model as a tool
(``activity_as_tool``): it runs, and retries, as an activity of its own. ``position_value``
is a plain function tool: it runs inside the workflow, deterministically, with no activity;
it is ``async`` because the Agents SDK runs a sync function tool in a thread
(``asyncio.to_thread``), which a workflow cannot start.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, Tool, function_tool
    from temporalio.contrib.openai_agents.workflow import activity_as_tool

MODEL = "gpt-4o-mini"
PRICES = {"AAPL": 189.5, "TSLA": 242.0}


@activity.defn
async def get_price(symbol: str) -> float:
    """The last price of a stock, in dollars."""
    return PRICES.get(symbol, 0.0)


@function_tool
async def position_value(price: float, shares: int) -> float:
    """What a number of shares is worth at a price."""
    return round(price * shares, 2)


def stock_analyst(*tools: Tool) -> Agent[None]:
    """The agent, with ``get_price`` and the ``tools`` given (built in the workflow)."""
    return Agent(
        name="Stock analyst",
        instructions="Answer questions about stock prices. Use the tools.",
        model=MODEL,
        tools=[activity_as_tool(get_price, start_to_close_timeout=timedelta(seconds=10)), *tools],
    )


@workflow.defn
class StockAnalyst:
    """Answers a question about stock prices with the model and its two tools."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(stock_analyst(position_value), question)
        return str(result.final_output)
