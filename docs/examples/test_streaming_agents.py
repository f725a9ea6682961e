"""A streaming Agents SDK agent under the fixture (docs/how-to/streaming-agents.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from agents_sdk_agent import get_price
from streaming_agent import DONE, EVENTS, STEPS, StreamingAnalyst
from temporalio.client import WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from pytest_temporal_agents import FakeLLM, TemporalHarness

STREAMING = OpenAIAgentsPlugin(
    model_params=ModelActivityParameters(
        start_to_close_timeout=timedelta(seconds=30),
        heartbeat_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        streaming_topic=EVENTS,  # where the streaming model activity publishes
    )
)

pytestmark = pytest.mark.temporal(plugins=[STREAMING])

ANSWER = "AAPL trades at $189.50 today."


@dataclass
class Seen:
    """What a subscriber read: the raw model events (as dicts) and the agent's steps."""

    events: list[dict[str, Any]] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        return "".join(e["delta"] for e in self.events if e["type"] == "response.output_text.delta")

    def count(self, event_type: str) -> int:
        return sum(e["type"] == event_type for e in self.events)


async def follow(temporal: TemporalHarness, handle: WorkflowHandle[Any, Any]) -> Seen:
    """Read the workflow's stream from the test body, as a UI would, until ``done``."""
    seen = Seen()
    stream = WorkflowStreamClient.create(temporal.client, handle.id)
    async for item in stream.subscribe(
        [EVENTS, STEPS, DONE], poll_cooldown=timedelta(milliseconds=20)
    ):
        if item.topic == DONE:
            break
        if item.topic == EVENTS:
            seen.events.append(item.data)
        else:
            seen.steps.append((item.data["kind"], item.data["detail"]))
    return seen


async def test_a_subscriber_reads_the_deltas_and_the_steps(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply(ANSWER)

    handle = await temporal.start(
        StreamingAnalyst.run, "What does AAPL cost?", activities=[get_price]
    )
    seen = await follow(temporal, handle)

    assert await handle.result() == ANSWER
    assert seen.count("response.output_text.delta") > 1  # the answer came in pieces
    assert seen.text() == ANSWER
    assert seen.count("response.completed") == 2  # one per model call
    assert seen.steps == [("tool_call", "get_price"), ("tool_output", "189.5"), ("message", ANSWER)]
    assert all(request.stream for request in fake_llm.requests)

    agent = await temporal.trajectory(handle)  # the streaming activity is a model call
    agent.assert_model_calls(exactly=2)
    agent.assert_order(
        "invoke_model_activity_streaming", get_price, "invoke_model_activity_streaming"
    )


async def test_a_stream_cut_mid_answer_is_retried(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.truncated(ANSWER)  # the connection drops halfway through the events
    fake_llm.reply(ANSWER)

    handle = await temporal.start(
        StreamingAnalyst.run, "What does AAPL cost?", activities=[get_price]
    )
    seen = await follow(temporal, handle)

    assert await handle.result() == ANSWER
    # The failed attempt's events were published before it failed: a subscriber sees the
    # response start again, and keeps only the text after the last response.created.
    assert seen.count("response.created") == 2
    restart = max(i for i, e in enumerate(seen.events) if e["type"] == "response.created")
    assert Seen(seen.events[restart:]).text() == ANSWER
    assert seen.text() != ANSWER
    [model_call] = (await temporal.trajectory(handle)).model_calls
    assert model_call.retries == 1


async def test_every_workflow_task_replays_the_history(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply(ANSWER)

    # No workflow cache: each task rebuilds the workflow from its history, in the sandbox
    # with the plugin's passthroughs, as a worker restarted mid-run would.
    async with temporal.worker(
        workflows=[StreamingAnalyst], activities=[get_price], max_cached_workflows=0
    ):
        handle = await temporal.start(StreamingAnalyst.run, "What does AAPL cost?")
        seen = await follow(temporal, handle)
        assert await handle.result() == ANSWER
    assert seen.text() == ANSWER
