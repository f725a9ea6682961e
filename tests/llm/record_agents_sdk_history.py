"""Record the OpenAI Agents SDK histories that test_trajectory.py reads (rarely: when the
integration changes how it calls models or tools). It needs the integration, which the
suite does not install, and no network: a scripted model answers::

    pip install temporalio-openai-agents
    python -m pytest tests/llm/record_agents_sdk_history.py -p no:randomly

Not collected by the suite: the file name does not start with ``test_``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from weather_agent import get_weather

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider
    from temporalio.openai_agents.workflow import activity_as_tool

from pytest_temporal_agents import TemporalHarness

HISTORIES = Path(__file__).parent / "histories"
TIMEOUT = timedelta(seconds=10)


@workflow.defn
class WeatherAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        agent = Agent(
            name="Weather assistant",
            instructions="Answer questions about the weather.",
            tools=[activity_as_tool(get_weather, start_to_close_timeout=TIMEOUT)],
        )
        result = await Runner.run(agent, question)
        return str(result.final_output)


@pytest.mark.parametrize("local", [False, True], ids=["activity", "local-activity"])
async def test_record(temporal: TemporalHarness, local: bool) -> None:
    model = TestModel.returning_responses(
        [
            ResponseBuilders.tool_call('{"city": "Paris"}', "get_weather"),
            ResponseBuilders.output_message("It is sunny in Paris."),
        ]
    )
    params = ModelActivityParameters(start_to_close_timeout=TIMEOUT, use_local_activity=local)
    temporal.use_plugins(
        OpenAIAgentsPlugin(model_params=params, model_provider=TestModelProvider(model))
    )
    # temporalio-openai-agents 1.1.0 refuses the converter it made itself once temporalio
    # 1.35 wraps it (`_data_converter`: "The payload converter must be of type
    # OpenAIPayloadConverter"), and the replay at teardown hands it the client's converter.
    temporal.replay_check = False
    handle = await temporal.start(
        WeatherAgentWorkflow.run, "What is the weather in Paris?", activities=[get_weather]
    )
    assert await handle.result() == "It is sunny in Paris."
    name = "agents_sdk_local_model.json" if local else "agents_sdk.json"
    (await temporal.history(handle)).save(HISTORIES / name)
