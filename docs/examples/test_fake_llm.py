"""Testing an agent with the fake model server (docs/how-to/fake-llm.md)."""

from research_agent import Question, ResearchAgent, call_model, get_price

from pytest_temporal_agents import FakeLLM, TemporalHarness

AGENT = {"activities": [call_model, get_price]}


async def test_the_agent_looks_up_the_price_then_answers(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at 189.5.")

    answer = await temporal.run(ResearchAgent.run, Question("What does AAPL cost?"), **AGENT)

    assert answer == "AAPL trades at 189.5."
    first, second = fake_llm.requests
    assert first.tool_names == ["get_price"]
    assert second.last_message["role"] == "tool" and second.last_text == "189.5"


async def test_two_tools_called_in_one_turn(temporal: TemporalHarness, fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_calls(("get_price", {"symbol": "AAPL"}), ("get_price", {"symbol": "TSLA"}))
    fake_llm.reply("TSLA costs more.")

    answer = await temporal.run(ResearchAgent.run, Question("AAPL or TSLA?"), **AGENT)

    assert answer == "TSLA costs more."
    tool_results = [m["content"] for m in fake_llm.requests[1].messages if m["role"] == "tool"]
    assert tool_results == ["189.5", "242.0"]


async def test_a_rate_limit_is_retried_by_the_client(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(429, retry_after=0.01)  # the openai client waits, then asks again
    fake_llm.reply("Nothing to look up.")

    answer = await temporal.run(ResearchAgent.run, Question("Hello?"), **AGENT)

    assert answer == "Nothing to look up."
    assert [request.status for request in fake_llm.requests] == [429, 200]


async def test_a_model_that_never_answers_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.hang()  # the first attempt's start-to-close timeout fires
    fake_llm.reply("Answered on the second attempt.")

    question = Question("Still there?", seconds_per_model_call=1.0)
    handle = await temporal.start(ResearchAgent.run, question, **AGENT)

    assert await handle.result() == "Answered on the second attempt."
    [model_call] = (await temporal.history(handle)).activities("call_model")
    assert model_call.attempt == 2


async def test_rules_answer_by_what_the_request_says(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.when(contains="TSLA").reply_tool_call("get_price", {"symbol": "TSLA"})
    fake_llm.when(contains="242.0").reply("TSLA trades at 242.0.")

    answer = await temporal.run(ResearchAgent.run, Question("Price of TSLA?"), **AGENT)

    assert answer == "TSLA trades at 242.0."
    assert [request.last_text for request in fake_llm.requests] == ["Price of TSLA?", "242.0"]
