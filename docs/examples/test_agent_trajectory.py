"""Asserting what an agent did, from its workflow's history (docs/how-to/trajectories.md)."""

from __future__ import annotations

import pytest

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import retryable_error
from weather_agent import TOOLS, ModelReply, ResearchWorkflow, WeatherAgent, call_model
from weather_agent import get_weather, search_web, send_email  # the tools

AGENT = {"workflows": [WeatherAgent, ResearchWorkflow], "activities": [call_model, *TOOLS]}


async def test_the_agent_checks_the_weather_then_answers(temporal: TemporalHarness) -> None:
    temporal.mock_activity(
        call_model,
        sequence=[ModelReply("get_weather", ["Paris"]), ModelReply(text="Sunny in Paris.")],
    )
    handle = await temporal.start(WeatherAgent.run, "Weather in Paris?", **AGENT)
    assert await handle.result() == "Sunny in Paris."

    agent = await temporal.trajectory(handle)

    assert agent.tools_called == ["get_weather"]
    agent.assert_called(get_weather, times=1, with_args=("Paris",))
    agent.assert_model_calls(at_most=2)
    agent.assert_not_called(send_email)


async def test_a_flaky_tool_is_retried_not_asked_for_twice(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(get_weather, attempts=[1]))
    temporal.mock_activity(
        call_model,
        sequence=[ModelReply("get_weather", ["Oslo"]), ModelReply(text="Sunny in Oslo.")],
    )
    handle = await temporal.start(WeatherAgent.run, "Weather in Oslo?", **AGENT)
    await handle.result()

    agent = await temporal.trajectory(handle)

    [weather] = agent.assert_called(get_weather, times=1)
    assert weather.retries == 1 and weather.result == "sunny in Oslo"
    agent.assert_model_calls(exactly=2)  # the retry cost no extra model call


async def test_the_agent_researches_before_it_emails(temporal: TemporalHarness) -> None:
    temporal.mock_activity(
        call_model,
        sequence=[
            ModelReply("research", ["Paris events"]),
            ModelReply("send_email", ["ada@example.com", "Jazz tonight."]),
            ModelReply(text="Sent."),
        ],
    )
    handle = await temporal.start(WeatherAgent.run, "Mail me what is on.", **AGENT)
    await handle.result()

    agent = await temporal.trajectory(handle)

    agent.assert_tools_called(ResearchWorkflow, send_email, exactly=True)
    agent.assert_order(call_model, ResearchWorkflow, call_model, send_email)
    agent.assert_never_after(search_web, send_email)
    with pytest.raises(AssertionError, match="send_email was called 1 time"):
        agent.assert_not_called(send_email)  # the message shows the numbered trajectory
