"""A streamed model call in an activity, tested with the fake model server (docs/how-to/openai-client.md)."""

from openai_streaming_agent import StreamedQuestion, StreamingResearchAgent, stream_model
from research_agent import get_price

from pytest_temporal_agents import FakeLLM, TemporalHarness

AGENT = {"activities": [stream_model, get_price]}


async def test_the_streamed_agent_calls_the_tool_then_answers(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at 189.5.")

    question = StreamedQuestion("What does AAPL cost?")
    answer = await temporal.run(StreamingResearchAgent.run, question, **AGENT)

    assert answer == "AAPL trades at 189.5."
    first, second = fake_llm.requests
    assert first.stream and second.stream
    [assistant, tool] = second.messages[-2:]  # what the streamed tool call became
    assert assistant["tool_calls"][0]["function"] == {"name": "get_price", "arguments": '{"symbol": "AAPL"}'}
    assert tool == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"], "content": "189.5"}


async def test_a_stream_cut_halfway_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.truncated("AAPL trades at 189.5, up two percent today.")
    fake_llm.reply("AAPL trades at 189.5.")

    question = StreamedQuestion("What does AAPL cost?")
    handle = await temporal.start(StreamingResearchAgent.run, question, **AGENT)

    assert await handle.result() == "AAPL trades at 189.5."  # not the half answer
    [model_call] = (await temporal.trajectory(handle)).model_calls
    assert model_call.attempts == 2
    assert model_call.attempt_errors == ("attempt 1: failed: Connection error. [APIConnectionError]",)


async def test_a_stalled_stream_is_caught_by_the_heartbeat_timeout(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.hang()  # no chunk, so no heartbeat: the 1 s heartbeat timeout fires
    fake_llm.reply("Answered on the second attempt.")

    question = StreamedQuestion("Still there?", heartbeat_seconds=1.0)
    handle = await temporal.start(StreamingResearchAgent.run, question, **AGENT)

    assert await handle.result() == "Answered on the second attempt."
    [model_call] = (await temporal.history(handle)).activities("stream_model")
    assert model_call.attempt == 2
