"""A tool-using agent on Claude: what docs/how-to/anthropic-client.md tests.

The model is called from an activity with the unmodified anthropic client, configured by
``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` only, plainly or streamed
(``messages.stream``). The workflow runs the ``tool_use`` blocks Claude answers with and
sends back ``tool_result`` blocks, one activity per model call and per tool call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from research_agent import get_price

SYSTEM = "You answer questions about stock prices."
TOOLS = [
    {
        "name": "get_price",
        "description": "The last price of a stock.",
        "input_schema": {
            "type": "object",
            "properties": {"symbol": {"type": "string"}},
            "required": ["symbol"],
        },
    }
]


@dataclass
class ClaudeCall:
    messages: list[dict[str, Any]]
    stream: bool = False


@dataclass
class ClaudeQuestion:
    text: str
    stream: bool = False


@activity.defn
async def call_claude(call: ClaudeCall) -> dict[str, Any]:
    import anthropic

    options: dict[str, Any] = {
        "model": "claude-sonnet-4-5", "max_tokens": 1024, "system": SYSTEM,
        "messages": call.messages, "tools": TOOLS,
    }  # fmt: skip
    # Temporal retries the call (after its backoff, on any worker), not the client.
    async with anthropic.AsyncAnthropic(max_retries=0) as client:
        if call.stream:
            async with client.messages.stream(**options) as stream:
                async for text in stream.text_stream:
                    activity.heartbeat(len(text))
                message = await stream.get_final_message()
        else:
            message = await client.messages.create(**options)
    return message.model_dump(include={"role", "content", "stop_reason"}, exclude_none=True)


@workflow.defn
class ClaudeAgent:
    """Asks Claude, runs the tools it asks for, and stops when it answers in text."""

    @workflow.run
    async def run(self, question: ClaudeQuestion) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": question.text}]
        for _ in range(5):
            reply = await workflow.execute_activity(
                call_claude,
                ClaudeCall(messages, stream=question.stream),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
            )
            messages.append({"role": "assistant", "content": reply["content"]})
            if reply["stop_reason"] != "tool_use":
                return "".join(block["text"] for block in reply["content"] if block["type"] == "text")
            results = []
            for block in reply["content"]:
                if block["type"] == "tool_use":
                    price = await workflow.execute_activity(
                        get_price, block["input"]["symbol"], start_to_close_timeout=timedelta(seconds=10)
                    )
                    results.append({"type": "tool_result", "tool_use_id": block["id"], "content": str(price)})
            messages.append({"role": "user", "content": results})
        return "no answer after five model calls"
