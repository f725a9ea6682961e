"""Replaying recorded model traffic (docs/how-to/cassettes.md).

The cassette beside this file, cassettes/test_cassettes/aapl.yaml, was recorded once with
``pytest --llm-record=all``; these tests replay it, with no network and no key.
"""

from pathlib import Path

import pytest
from research_agent import Question, ResearchAgent, call_model, get_price

from pytest_temporal_agents import FakeLLM, TemporalHarness

AGENT = {"activities": [call_model, get_price]}


@pytest.mark.llm_cassette("aapl")  # cassettes/test_cassettes/aapl.yaml
@pytest.mark.llm_budget(tokens=1000)
async def test_the_agent_answers_from_the_recording(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    answer = await temporal.run(ResearchAgent.run, Question("What does AAPL cost?"), **AGENT)

    assert answer == "AAPL last traded at $189.50."
    first, second = fake_llm.requests
    assert first.tool_names == ["get_price"]
    assert second.last_message["role"] == "tool" and second.last_text == "189.5"
    assert fake_llm.usage.total_tokens == 302  # as the provider reported it


@pytest.mark.llm_cassette("aapl")
async def test_a_scripted_rate_limit_comes_before_the_recording(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(429, retry_after=0.01)  # scripted replies answer first

    answer = await temporal.run(ResearchAgent.run, Question("What does AAPL cost?"), **AGENT)

    assert answer == "AAPL last traded at $189.50."
    assert [request.status for request in fake_llm.requests] == [429, 200, 200]


async def test_a_cassette_chosen_in_the_test(temporal: TemporalHarness, fake_llm: FakeLLM) -> None:
    fake_llm.use_cassette(Path(__file__).parent / "cassettes" / "test_cassettes" / "aapl.yaml")

    answer = await temporal.run(ResearchAgent.run, Question("What does AAPL cost?"), **AGENT)

    assert answer.startswith("AAPL")
