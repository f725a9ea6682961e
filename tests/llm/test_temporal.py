"""The fake under the ``temporal`` fixture: an activity reaches it with no wiring at all."""

from __future__ import annotations

from llm_workflows import AdvisorWorkflow, ImpatientAdvisorWorkflow, ask_model

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.llm import FakeLLM


async def test_an_activity_reaches_the_fake_through_the_environment_alone(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("Hold AAPL: the quarter was flat.")

    result = await temporal.run(AdvisorWorkflow.run, "Should I buy AAPL?", activities=[ask_model])

    assert result == "Hold AAPL: the quarter was flat."
    [request] = fake_llm.requests
    assert request.last_text == "Should I buy AAPL?"
    assert request.headers["user-agent"].startswith("AsyncOpenAI/Python")
    assert "authorization" not in request.headers


async def test_a_hang_fires_the_start_to_close_timeout_and_the_retry_gets_the_next_reply(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.hang().reply("Sell TSLA.")

    handle = await temporal.start(ImpatientAdvisorWorkflow.run, "TSLA?", activities=[ask_model])

    assert await handle.result() == "Sell TSLA."
    [record] = (await temporal.history(handle)).activities("ask_model")
    assert (record.status, record.attempt) == ("completed", 2)
    assert [r.reply.kind for r in fake_llm.requests if r.reply] == ["hang", "message"]
    assert [r.status for r in fake_llm.requests] == [None, 200]
