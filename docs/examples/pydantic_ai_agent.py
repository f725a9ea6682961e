"""A pydantic-ai agent made durable by its Temporal integration: what docs/how-to/pydantic-ai.md tests.

``TemporalDurability`` turns the agent's model requests and tool calls into activities, so
the agent runs inside a workflow; ``PydanticAIPlugin`` (on the client and the worker)
registers those activities and passes pydantic-ai through the workflow sandbox. The model is
named by a string: it is built in the activity, from ``OPENAI_BASE_URL`` and
``OPENAI_API_KEY``, as in production.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityConfig

with workflow.unsafe.imports_passed_through():
    from pydantic_ai import Agent, PartDeltaEvent, PartStartEvent, RunContext, TextPart, TextPartDelta
    from pydantic_ai.durable_exec.temporal import PydanticAIWorkflow, TemporalDurability

#: Model calls retried by Temporal, quickly (the backoff is real time, even in tests).
MODEL_CALLS = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
)

analyst = Agent(
    "openai:gpt-4o-mini",
    name="analyst",
    instructions="You answer questions about stock prices. Look prices up with get_price.",
    capabilities=[TemporalDurability(model_activity_config=MODEL_CALLS)],
)


@analyst.tool_plain
async def get_price(symbol: str) -> float:
    """The last price of a stock."""
    return {"AAPL": 189.5, "TSLA": 242.0}.get(symbol, 0.0)


#: What the streaming agent's handler saw, in this worker process (for the example's test).
STREAMED: list[str] = []


async def show_progress(ctx: RunContext[None], events: object) -> None:
    """Runs in the model activity while the answer streams in: here it collects the text."""
    async for event in events:  # type: ignore[attr-defined]
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
            STREAMED.append(event.part.content)
        elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            STREAMED.append(event.delta.content_delta)


streaming_analyst = Agent(
    "openai:gpt-4o-mini",
    name="streaming_analyst",
    instructions="You answer questions about stock prices.",
    capabilities=[TemporalDurability(event_stream_handler=show_progress)],
)


@workflow.defn
class StockQuestion(PydanticAIWorkflow):
    """Runs the agent on one question: its model requests and tools are activities."""

    __pydantic_ai_agents__ = [analyst]

    @workflow.run
    async def run(self, question: str) -> str:
        result = await analyst.run(question)
        return result.output


@workflow.defn
class StreamedStockQuestion(PydanticAIWorkflow):
    """The same, with the model's answer streamed to an event handler."""

    __pydantic_ai_agents__ = [streaming_analyst]

    @workflow.run
    async def run(self, question: str) -> str:
        result = await streaming_analyst.run(question)
        return result.output
