"""A hand-written agent loop: the workflow that docs/how-to/trajectories.md tests.

The model is an activity that answers with a tool to call or with the final text; the
workflow calls the tool the model named and gives it the result, until the model answers.
Tools are activities, and ``research`` is a child workflow with a small loop of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

MAX_TURNS = 6
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=3)


@dataclass
class ModelReply:
    """What the model answers: a tool to call with its arguments, or the final text."""

    tool: str | None = None
    args: list[str] = field(default_factory=list)
    text: str = ""


@activity.defn
async def call_model(messages: list[str]) -> ModelReply:
    raise RuntimeError("calls an LLM: never in a unit test")


@activity.defn
async def get_weather(city: str) -> str:
    """The weather in a city (the tool's description, for the Agents SDK)."""
    return f"sunny in {city}"


@activity.defn
async def search_web(query: str) -> str:
    return f"3 results for {query}"


@activity.defn
async def send_email(to: str, body: str) -> str:
    return f"sent to {to}"


TOOLS = [get_weather, search_web, send_email]


@workflow.defn
class ResearchWorkflow:
    """A tool that is a workflow of its own: it searches twice and sums up."""

    @workflow.run
    async def run(self, topic: str) -> str:
        found = [
            await workflow.execute_activity(search_web, query, start_to_close_timeout=TIMEOUT)
            for query in (topic, f"{topic} news")
        ]
        return "; ".join(found)


@workflow.defn
class WeatherAgent:
    """Ask the model, call the tool it names, give it the result; until it answers."""

    @workflow.run
    async def run(self, question: str) -> str:
        messages = [question]
        for _ in range(MAX_TURNS):
            reply = await self.ask(messages)
            if reply.tool is None:
                return reply.text
            messages.append(f"{reply.tool}: {await self.use(reply)}")
        raise ApplicationError(f"no answer after {MAX_TURNS} turns", non_retryable=True)

    async def ask(self, messages: list[str]) -> ModelReply:
        return await workflow.execute_activity(
            call_model, messages, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )

    async def use(self, reply: ModelReply) -> str:
        if reply.tool == "research":
            return await workflow.execute_child_workflow(ResearchWorkflow.run, *reply.args)
        return await workflow.execute_activity(
            reply.tool or "",
            args=reply.args,
            result_type=str,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
