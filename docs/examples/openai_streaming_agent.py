"""The research agent with its model call streamed: what docs/how-to/openai-client.md tests.

The activity streams the answer with the unmodified openai client (``stream=True`` through
the client's ``chat.completions.stream`` helper, which assembles text and tool calls from
the chunks), heartbeats as chunks arrive, and returns the whole message. The tools, the
question and the loop are research_agent.py's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from research_agent import TOOLS, get_price


@dataclass
class StreamedQuestion:
    text: str
    #: A stream may take minutes; a stalled one is caught by the heartbeat timeout instead.
    heartbeat_seconds: float = 10.0


@activity.defn
async def stream_model(messages: list[dict[str, Any]]) -> dict[str, Any]:
    import openai

    # Temporal retries the whole call: a stream cut halfway cannot be resumed by the client.
    async with openai.AsyncOpenAI(max_retries=0) as client:
        async with client.chat.completions.stream(
            model="gpt-4o-mini", messages=messages, tools=TOOLS  # type: ignore[arg-type]
        ) as stream:
            received = 0
            async for event in stream:
                if event.type == "content.delta":
                    received += len(event.delta)
                activity.heartbeat(received)
            completion = await stream.get_final_completion()
    message = completion.choices[0].message
    return message.model_dump(include={"role", "content", "tool_calls"}, exclude_none=True)


@workflow.defn
class StreamingResearchAgent:
    """Asks the model (streamed), runs the tools it calls, and stops when it answers in text."""

    @workflow.run
    async def run(self, question: StreamedQuestion) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You answer questions about stock prices."},
            {"role": "user", "content": question.text},
        ]
        for _ in range(5):
            message = await workflow.execute_activity(
                stream_model,
                messages,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=question.heartbeat_seconds),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
            )
            messages.append(message)
            if not message.get("tool_calls"):
                return str(message["content"])
            for call in message["tool_calls"]:
                arguments = json.loads(call["function"]["arguments"])
                price = await workflow.execute_activity(
                    get_price, arguments["symbol"], start_to_close_timeout=timedelta(seconds=10)
                )
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": str(price)})
        return "no answer after five model calls"
