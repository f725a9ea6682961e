"""The docs' Agents SDK agent in the plugin's other configurations, still served by fake_llm:
the Chat Completions API instead of Responses, and model calls as local activities."""

from __future__ import annotations

from datetime import timedelta

import pytest
from agents import OpenAIProvider
from agents_sdk_agent import StockAnalyst, get_price
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from pytest_temporal_agents import FakeLLM, TemporalHarness

TIMEOUT = timedelta(seconds=30)
CHAT_COMPLETIONS = OpenAIAgentsPlugin(
    ModelActivityParameters(start_to_close_timeout=TIMEOUT),
    # The provider reads OPENAI_BASE_URL when it first builds its client, in the activity.
    model_provider=OpenAIProvider(use_responses=False),
)
LOCAL_MODEL_CALLS = OpenAIAgentsPlugin(
    ModelActivityParameters(start_to_close_timeout=TIMEOUT, use_local_activity=True)
)


def script(fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at $189.50.")


@pytest.mark.temporal(plugins=[CHAT_COMPLETIONS])
async def test_the_chat_completions_api(temporal: TemporalHarness, fake_llm: FakeLLM) -> None:
    script(fake_llm)

    handle = await temporal.start(StockAnalyst.run, "AAPL?", activities=[get_price])

    assert await handle.result() == "AAPL trades at $189.50."
    assert [request.api for request in fake_llm.requests] == ["openai.chat", "openai.chat"]
    assert fake_llm.requests[1].last_message == {
        "role": "tool",
        "tool_call_id": "call_fake1_0",
        "content": "189.5",
    }
    (await temporal.trajectory(handle)).assert_order(
        "invoke_model_activity", get_price, "invoke_model_activity"
    )


@pytest.mark.temporal(plugins=[LOCAL_MODEL_CALLS])
async def test_model_calls_as_local_activities(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    script(fake_llm)

    handle = await temporal.start(StockAnalyst.run, "AAPL?", activities=[get_price])

    assert await handle.result() == "AAPL trades at $189.50."
    agent = await temporal.trajectory(handle)
    assert [step.call for step in agent.model_calls] == ["local activity", "local activity"]
    agent.assert_order("invoke_model_activity", get_price, "invoke_model_activity")
