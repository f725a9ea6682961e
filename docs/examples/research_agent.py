"""A tool-using agent: the workflow that docs/how-to/fake-llm.md tests.

The model is called from an activity with the unmodified openai client: no base URL and
no key in the code, only the environment, as in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_price",
            "description": "The last price of a stock.",
            "parameters": {
                "type": "object",
                "properties": {"symbol": {"type": "string"}},
                "required": ["symbol"],
            },
        },
    }
]


@dataclass
class Question:
    text: str
    seconds_per_model_call: float = 30.0


@activity.defn
async def call_model(messages: list[dict[str, Any]]) -> dict[str, Any]:
    import openai  # activities import their heavy dependencies

    async with openai.AsyncOpenAI() as client:  # OPENAI_BASE_URL and OPENAI_API_KEY
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, tools=TOOLS
        )
    return completion.choices[0].message.model_dump(exclude_none=True)


@activity.defn
async def get_price(symbol: str) -> float:
    return {"AAPL": 189.5, "TSLA": 242.0}.get(symbol, 0.0)


@workflow.defn
class ResearchAgent:
    """Asks the model, runs the tools it calls, and stops when it answers in text."""

    @workflow.run
    async def run(self, question: Question) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You answer questions about stock prices."},
            {"role": "user", "content": question.text},
        ]
        for _ in range(5):
            message = await workflow.execute_activity(
                call_model,
                messages,
                start_to_close_timeout=timedelta(seconds=question.seconds_per_model_call),
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
