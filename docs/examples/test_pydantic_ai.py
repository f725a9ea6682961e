"""Testing a pydantic-ai agent under Temporal with the fake model server (docs/how-to/pydantic-ai.md)."""

import pytest
from pydantic_ai.durable_exec.temporal import PydanticAIPlugin
from pydantic_ai_agent import STREAMED, StockQuestion, StreamedStockQuestion
from temporalio.client import WorkflowFailureError

from pytest_temporal_agents import FakeLLM, TemporalHarness

pytestmark = pytest.mark.temporal(plugins=[PydanticAIPlugin()])


async def test_the_agent_looks_up_the_price_then_answers(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at 189.5.")

    handle = await temporal.start(StockQuestion.run, "What does AAPL cost?", workflows=[StockQuestion])

    assert await handle.result() == "AAPL trades at 189.5."
    first, second = fake_llm.requests
    assert first.api == "openai.responses" and first.tool_names == ["get_price"]
    assert first.system is not None and first.system.startswith("You answer questions about stock")
    assert second.last_message == {"type": "function_call_output", "call_id": "call_fake1_0", "output": "189.5"}
    agent = await temporal.trajectory(handle)
    assert agent.tools_called == ["get_price"]
    agent.assert_called("get_price", times=1, with_args=({"symbol": "AAPL"},))
    agent.assert_model_calls(exactly=2)


async def test_the_answer_streams_to_the_event_handler(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    STREAMED.clear()
    fake_llm.reply("TSLA trades at 242.0 today.")

    answer = await temporal.run(StreamedStockQuestion.run, "TSLA?", workflows=[StreamedStockQuestion])

    assert answer == "TSLA trades at 242.0 today."
    [request] = fake_llm.requests
    assert request.stream
    assert "".join(STREAMED) == answer and len(STREAMED) > 1


async def test_a_failed_model_call_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(503).fail(503).fail(503)  # the openai client's own two retries, then Temporal's
    fake_llm.reply("Nothing to look up.")

    handle = await temporal.start(StockQuestion.run, "Hello?", workflows=[StockQuestion])

    assert await handle.result() == "Nothing to look up."
    [model_call] = (await temporal.trajectory(handle)).model_calls
    assert model_call.attempts == 2 and len(fake_llm.requests) == 4


async def test_a_rejected_request_fails_the_workflow_at_once(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(400, message="context window exceeded")

    handle = await temporal.start(StockQuestion.run, "A very long question", workflows=[StockQuestion])

    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "context window exceeded" in str(failed.value.cause)
    assert len(fake_llm.requests) == 1  # not retried: another attempt cannot fix it
