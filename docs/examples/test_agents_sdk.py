"""An Agents SDK agent under the fixture, its model served by fake_llm.

The guide: docs/how-to/openai-agents-sdk.md.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from agents_sdk_agent import StockAnalyst, get_price
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from pytest_temporal_agents import FakeLLM, TemporalHarness

#: The activity the plugin runs each model call in.
MODEL_CALL = "invoke_model_activity"

AGENTS_SDK = OpenAIAgentsPlugin(
    model_params=ModelActivityParameters(
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
    )
)

# The plugin reaches the client, the workers and the determinism replay at teardown.
pytestmark = pytest.mark.temporal(plugins=[AGENTS_SDK])


async def test_the_agent_looks_up_the_price_then_answers(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at $189.50.")

    handle = await temporal.start(StockAnalyst.run, "What does AAPL cost?", activities=[get_price])

    assert await handle.result() == "AAPL trades at $189.50."
    first, second = fake_llm.requests
    assert first.api == "openai.responses" and first.model == "gpt-4o-mini"
    assert first.tool_names == ["get_price", "position_value"]
    assert second.last_message["type"] == "function_call_output"
    assert second.last_text == "189.5"  # the tool's result went back to the model

    agent = await temporal.trajectory(handle)
    agent.assert_order(MODEL_CALL, get_price, MODEL_CALL)
    agent.assert_called(get_price, times=1, with_args=("AAPL",))
    assert agent.tool_calls[0].result == 189.5
    # What the teardown does for every workflow the test ran (replay_check is on by default).
    assert (await temporal.replay(handle)).ok


async def test_a_function_tool_runs_in_the_workflow(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("position_value", {"price": 189.5, "shares": 10})
    fake_llm.reply("Ten shares are worth $1,895.")

    handle = await temporal.start(
        StockAnalyst.run, "What are 10 AAPL worth at 189.5?", activities=[get_price]
    )

    assert await handle.result() == "Ten shares are worth $1,895."
    assert fake_llm.requests[1].last_text == "1895.0"
    agent = await temporal.trajectory(handle)
    assert agent.tools_called == []  # no activity: the history has no step for it
    agent.assert_model_calls(exactly=2)


@pytest.mark.parametrize("status", [429, 500])
async def test_a_failed_model_call_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM, status: int
) -> None:
    fake_llm.fail(status)
    fake_llm.reply("AAPL trades at $189.50.")

    handle = await temporal.start(StockAnalyst.run, "What does AAPL cost?", activities=[get_price])

    assert await handle.result() == "AAPL trades at $189.50."
    assert [request.status for request in fake_llm.requests] == [status, 200]
    [model_call] = (await temporal.trajectory(handle)).model_calls
    assert model_call.retries == 1  # one activity retried, not a second model call


async def test_a_bad_request_fails_the_workflow_at_once(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(400, message="tools[0].parameters is invalid")

    handle = await temporal.start(StockAnalyst.run, "What does AAPL cost?", activities=[get_price])

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert "Non retryable OpenAI status code: 400" in repr(failure.value.cause.__cause__)
    assert len(fake_llm.requests) == 1
