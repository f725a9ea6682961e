"""A Claude agent in activities, tested with the fake model server (docs/how-to/anthropic-client.md)."""

from anthropic_agent import SYSTEM, ClaudeAgent, ClaudeQuestion, call_claude
from research_agent import get_price

from pytest_temporal_agents import FakeLLM, TemporalHarness

AGENT = {"activities": [call_claude, get_price]}


async def test_claude_asks_for_the_price_then_answers(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"}, text="Let me look that up.")
    fake_llm.reply("AAPL trades at 189.5.")

    answer = await temporal.run(ClaudeAgent.run, ClaudeQuestion("What does AAPL cost?"), **AGENT)

    assert answer == "AAPL trades at 189.5."
    first, second = fake_llm.requests
    assert first.api == "anthropic.messages" and first.system == SYSTEM
    assert first.tool_names == ["get_price"] and not first.stream
    user, assistant, results = second.messages  # in Anthropic's own form
    assert user == {"role": "user", "content": "What does AAPL cost?"}
    text, tool_use = assistant["content"]
    assert text == {"type": "text", "text": "Let me look that up."}
    assert (tool_use["type"], tool_use["name"], tool_use["input"]) == ("tool_use", "get_price", {"symbol": "AAPL"})
    assert results == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "189.5"}],
    }


async def test_a_streamed_turn_with_two_tool_calls(temporal: TemporalHarness, fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_calls(("get_price", {"symbol": "AAPL"}), ("get_price", {"symbol": "TSLA"}))
    fake_llm.reply("TSLA costs more.")

    question = ClaudeQuestion("AAPL or TSLA?", stream=True)
    handle = await temporal.start(ClaudeAgent.run, question, **AGENT)

    assert await handle.result() == "TSLA costs more."
    assert [request.stream for request in fake_llm.requests] == [True, True]
    results = fake_llm.requests[1].last_message["content"]  # both answers in one user turn
    assert [result["content"] for result in results] == ["189.5", "242.0"]
    agent = await temporal.trajectory(handle)
    agent.assert_order(call_claude, get_price, get_price, call_claude)


async def test_an_overloaded_api_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(529)  # Anthropic's "overloaded"
    fake_llm.reply("Nothing to look up.")

    handle = await temporal.start(ClaudeAgent.run, ClaudeQuestion("Hello?"), **AGENT)

    assert await handle.result() == "Nothing to look up."
    agent = await temporal.trajectory(handle, model_activities=[call_claude])  # not named *model*
    [model_call] = agent.model_calls
    assert model_call.attempts == 2 and "OverloadedError" in model_call.attempt_errors[0]
