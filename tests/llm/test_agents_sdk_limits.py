"""What does not work with the Agents SDK in a workflow (temporalio-openai-agents 1.1.0,
openai-agents 0.22), shown with the error a user gets: docs/how-to/openai-agents-sdk.md and
docs/how-to/streaming-agents.md link here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from pytest_temporal_agents import FakeLLM, TemporalHarness

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, function_tool

TIMEOUT = timedelta(seconds=30)
PARAMS = ModelActivityParameters(start_to_close_timeout=TIMEOUT)


@function_tool
def sync_value(price: float, shares: int) -> float:
    """A sync function tool: the SDK runs it in asyncio.to_thread."""
    return price * shares


@workflow.defn
class SyncToolAgent:
    @workflow.run
    async def run(self) -> str:
        agent = Agent(name="a", model="gpt-4o-mini", tools=[sync_value])
        return str((await Runner.run(agent, "10 shares at 2?")).final_output)


@workflow.defn
class StreamedAgent:
    @workflow.run
    async def run(self) -> str:
        result = Runner.run_streamed(Agent(name="a", model="gpt-4o-mini"), "hi")
        async for _ in result.stream_events():
            pass
        return str(result.final_output)


@pytest.mark.temporal(plugins=[OpenAIAgentsPlugin(PARAMS)])
async def test_a_sync_function_tool_fails_and_the_model_is_told(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("sync_value", {"price": 2.0, "shares": 10})
    fake_llm.reply("I could not compute it.")

    assert (
        await temporal.run(SyncToolAgent.run, workflows=[SyncToolAgent])
        == "I could not compute it."
    )

    # asyncio.to_thread needs an executor, which the workflow's event loop does not have
    # (NotImplementedError); the SDK's default tool error handler sends that to the model.
    assert fake_llm.requests[1].last_text.startswith("An error occurred while running the tool.")


LOCAL_STREAMING = ModelActivityParameters(
    start_to_close_timeout=TIMEOUT, streaming_topic="events", use_local_activity=True
)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (PARAMS, "requires ModelActivityParameters.streaming_topic to be set"),
        (LOCAL_STREAMING, "incompatible with use_local_activity"),
    ],
    ids=["without-a-streaming-topic", "with-local-model-activities"],
)
async def test_run_streamed_refused(
    temporal: TemporalHarness, fake_llm: FakeLLM, params: ModelActivityParameters, error: str
) -> None:
    temporal.use_plugins(OpenAIAgentsPlugin(params))
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(StreamedAgent.run, workflows=[StreamedAgent])
    assert error in str(failure.value.cause)
    assert fake_llm.requests == []


STREAMING = ModelActivityParameters(
    start_to_close_timeout=TIMEOUT, streaming_topic="events", use_local_activity=True
)


@pytest.mark.temporal(plugins=[OpenAIAgentsPlugin(LOCAL_STREAMING)])
async def test_run_streamed_with_local_model_activities(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(StreamedAgent.run, workflows=[StreamedAgent])
    assert "incompatible with use_local_activity" in str(failure.value.cause)
    assert fake_llm.requests == []


STREAMING = ModelActivityParameters(start_to_close_timeout=TIMEOUT, streaming_topic="events")


@pytest.mark.temporal(plugins=[OpenAIAgentsPlugin(STREAMING)])
async def test_a_streamed_run_without_a_workflow_stream(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("Hello there.")

    handle = await temporal.start(StreamedAgent.run, workflows=[StreamedAgent])

    assert await handle.result() == "Hello there."  # the run works; its publishes go nowhere
    stream = WorkflowStreamClient.create(temporal.client, handle.id)
    # Closed, so the subscriber reads by query (a running workflow rejects the poll update).
    no_handler = "handler for '__temporal_workflow_stream_poll' expected but not found"
    with pytest.raises(WorkflowQueryFailedError, match=no_handler):
        async for _ in stream.subscribe("events"):
            pass
