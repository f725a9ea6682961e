"""Agents whose activities call a model through the unmodified openai and anthropic clients,
for the model-fault tests (tests/faults/test_model_faults*.py).

The clients are built from the environment (``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``,
the keys), as production code builds them; ``max_retries=0`` leaves retrying to Temporal,
so each attempt makes one request (the tests that show the clients' own retries say so).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-latest"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_price",
            "description": "The last price of a stock.",
            "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}},
        },
    }
]
CLAUDE_TOOLS = [
    {
        "name": "get_price",
        "description": "The last price of a stock.",
        "input_schema": {"type": "object", "properties": {"symbol": {"type": "string"}}},
    }
]


@dataclass
class Ask:
    """One question for one provider's activity."""

    question: str
    provider: str = "openai"  # "openai", "openai_sync" or "anthropic"
    stream: bool = False
    client_retries: int = 0
    seconds: float = 30.0
    maximum_attempts: int = 3
    delay: float = 0.0  # seconds the activity waits before it asks


@dataclass
class Answer:
    text: str
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _tool_arguments(name: str, arguments: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A tool call the agent can run: JSON arguments, or a retryable error naming the tool."""
    if isinstance(arguments, dict):
        return name, arguments
    try:
        return name, json.loads(arguments)
    except ValueError:
        raise ApplicationError(
            f"the model called {name} with arguments that are not JSON", type="MalformedToolCall"
        )


@activity.defn
async def ask_openai(ask: Ask) -> Answer:
    """Chat completions with the async openai client; a 401 is mapped to a non-retryable error."""
    import openai

    async with openai.AsyncOpenAI(max_retries=ask.client_retries) as client:
        messages: Any = [{"role": "user", "content": ask.question}]
        try:
            if not ask.stream:
                completion = await client.chat.completions.create(
                    model=MODEL, messages=messages, tools=TOOLS
                )
                message = completion.choices[0].message
                calls = [
                    (c.function.name, c.function.arguments)
                    for c in message.tool_calls or []
                    if c.type == "function"
                ]
                return Answer(message.content or "", [_tool_arguments(n, a) for n, a in calls])
            text = ""
            stream = await client.chat.completions.create(
                model=MODEL, messages=messages, stream=True
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
            return Answer(text)
        except openai.AuthenticationError as err:  # a bad key does not get better by retrying
            raise ApplicationError(
                str(err), type="AuthenticationError", non_retryable=True
            ) from err


@activity.defn
def ask_openai_sync(ask: Ask) -> Answer:
    """The same with the sync client, in the worker's thread pool."""
    import openai

    with openai.OpenAI(max_retries=ask.client_retries) as client:
        completion = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": ask.question}]
        )
    return Answer(completion.choices[0].message.content or "")


@activity.defn
async def ask_anthropic(ask: Ask) -> Answer:
    """Messages with the async anthropic client, streamed or not; errors left as they are
    (the workflow's retry policy names the non-retryable ones)."""
    import anthropic

    await asyncio.sleep(ask.delay)
    async with anthropic.AsyncAnthropic(max_retries=ask.client_retries) as client:
        messages: Any = [{"role": "user", "content": ask.question}]
        if ask.stream:
            async with client.messages.stream(
                model=CLAUDE,
                max_tokens=256,
                messages=messages,
                tools=CLAUDE_TOOLS,  # type: ignore[arg-type]
            ) as stream:
                message = await stream.get_final_message()
        else:
            message = await client.messages.create(
                model=CLAUDE,
                max_tokens=256,
                messages=messages,
                tools=CLAUDE_TOOLS,  # type: ignore[arg-type]
            )
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = [_tool_arguments(b.name, b.input) for b in message.content if b.type == "tool_use"]  # type: ignore[arg-type]
    return Answer(text, calls)


ASKERS = {"openai": ask_openai, "openai_sync": ask_openai_sync, "anthropic": ask_anthropic}
ALL_ASKERS = list(ASKERS.values())


@workflow.defn
class AskWorkflow:
    """Asks one provider once, retrying as its policy says; returns what the model said."""

    @workflow.run
    async def run(self, ask: Ask) -> Answer:
        return await workflow.execute_activity(
            ASKERS[ask.provider],  # type: ignore[arg-type]
            ask,
            start_to_close_timeout=timedelta(seconds=ask.seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=10),
                maximum_attempts=ask.maximum_attempts,
                non_retryable_error_types=["AuthenticationError"],
            ),
        )


@workflow.defn
class BothProvidersWorkflow:
    """Asks OpenAI and Anthropic at the same time, once each; returns each answer or error
    type (the fake cannot tell the two activities apart by sender)."""

    @workflow.run
    async def run(self, asks: list[Ask]) -> list[str]:
        answers = [
            workflow.execute_activity(
                ASKERS[ask.provider],  # type: ignore[arg-type]
                ask,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            for ask in asks
        ]
        results = await asyncio.gather(*answers, return_exceptions=True)
        return [
            r.text
            if isinstance(r, Answer)
            else f"error: {getattr(r.cause, 'type', type(r).__name__)}"
            for r in results
        ]


# -- a tool-using agent, for the property test ---------------------------------------------------
PRICES = {"AAPL": 189.5, "TSLA": 242.0}
POLICY = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3)


@activity.defn
async def agent_model(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One turn of the agent's model: the assistant message, tool arguments checked."""
    import openai

    async with openai.AsyncOpenAI(max_retries=0) as client:
        completion = await client.chat.completions.create(
            model=MODEL, messages=messages, tools=TOOLS
        )  # type: ignore[arg-type]
    message = completion.choices[0].message
    for call in message.tool_calls or []:
        if call.type == "function":
            _tool_arguments(call.function.name, call.function.arguments)
    return message.model_dump(exclude_none=True)


@activity.defn
async def lookup_price(symbol: str) -> float:
    return PRICES.get(symbol, 0.0)


AGENT_ACTIVITIES = [agent_model, lookup_price]


@workflow.defn
class PriceAgent:
    """Asks the model, runs the tools it calls, stops when it answers in text."""

    @workflow.run
    async def run(self, question: str) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        for _ in range(4):
            message = await workflow.execute_activity(
                agent_model,
                messages,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=POLICY,
            )
            messages.append(message)
            if not message.get("tool_calls"):
                return str(message["content"])
            for call in message["tool_calls"]:
                symbol = json.loads(call["function"]["arguments"])["symbol"]
                price = await workflow.execute_activity(
                    lookup_price,
                    symbol,
                    start_to_close_timeout=timedelta(seconds=10),
                    retry_policy=POLICY,
                )
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": str(price)})
        return "no answer"
