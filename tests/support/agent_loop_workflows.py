"""A hand-written agent loop for the trajectory tests (tests/llm/test_trajectory.py).

The model is an activity that every test mocks (``temporal.mock_activity(call_model,
sequence=[...])``): each reply asks for a tool or answers. Tools are activities called by
the name the model gave, as agent loops do, except ``research``, a child workflow that runs
a small loop of its own. A module of its own, importing only temporalio: the sandbox
re-imports a workflow's module for every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

MAX_TURNS = 6
#: Quick retries: a retried tool costs the test no waiting.
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=3)
TIMEOUT = timedelta(seconds=10)


@dataclass
class Reply:
    """What the model answers: a tool to call with its arguments, or the final text."""

    tool: str | None = None
    args: list[str] = field(default_factory=list)
    text: str = ""


@dataclass
class Task:
    question: str
    #: Call the model as a local activity (as the Agents SDK does with use_local_activity).
    local_model: bool = False


@activity.defn
async def call_model(messages: list[str]) -> Reply:
    raise AssertionError("the model is mocked in every test")


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
    """A tool that is an agent workflow of its own: it searches twice and sums up."""

    @workflow.run
    async def run(self, topic: str) -> str:
        found = [
            await workflow.execute_activity(search_web, query, start_to_close_timeout=TIMEOUT)
            for query in (topic, f"{topic} news")
        ]
        return "; ".join(found)


@workflow.defn
class AgentLoopWorkflow:
    """Ask the model, call the tool it names, give it the result; until it answers."""

    @workflow.run
    async def run(self, task: Task) -> str:
        messages = [task.question]
        for _ in range(MAX_TURNS):
            reply = await self._ask(messages, task.local_model)
            if reply.tool is None:
                return reply.text
            messages.append(f"{reply.tool}: {await self._use(reply)}")
        raise ApplicationError(f"no answer after {MAX_TURNS} turns", non_retryable=True)

    async def _ask(self, messages: list[str], local: bool) -> Reply:
        if local:
            return await workflow.execute_local_activity(
                call_model, messages, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        return await workflow.execute_activity(
            call_model, messages, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )

    async def _use(self, reply: Reply) -> str:
        if reply.tool == "research":
            return await workflow.execute_child_workflow(ResearchWorkflow.run, *reply.args)
        return await workflow.execute_activity(
            reply.tool or "",
            args=reply.args,
            result_type=str,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
