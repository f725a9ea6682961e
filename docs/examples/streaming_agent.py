"""A streaming Agents SDK agent: docs/how-to/streaming-agents.md.

``Runner.run_streamed`` inside a workflow runs each model call as the plugin's streaming
activity (``invoke_model_activity_streaming``), which streams the answer from the model and
publishes every raw OpenAI event to the workflow's stream as it arrives, on the topic
``ModelActivityParameters(streaming_topic=...)`` names. The workflow hosts that stream
(``WorkflowStream``, built in ``@workflow.init``); a client follows it with
``WorkflowStreamClient.subscribe``. The workflow itself sees the events of a model call only
once its activity completed: it publishes what the agent did (tool calls, their outputs,
its messages) on a topic of its own, and ``done`` last, so that subscribers know when to
stop reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream

with workflow.unsafe.imports_passed_through():
    from agents import ItemHelpers, Runner

from agents_sdk_agent import stock_analyst

#: The raw model events, published by the plugin's streaming activity.
EVENTS = "model-events"
#: What the agent did, published by the workflow.
STEPS = "agent-steps"
#: Published once, last: nothing more will come.
DONE = "done"


@dataclass
class Step:
    kind: str  # "tool_call", "tool_output" or "message"
    detail: str


@workflow.defn
class StreamingAnalyst:
    @workflow.init
    def __init__(self, question: str) -> None:
        self.stream = WorkflowStream()
        self.steps = self.stream.topic(STEPS, type=Step)
        self.done = self.stream.topic(DONE, type=bool)

    @workflow.run
    async def run(self, question: str) -> str:
        result = Runner.run_streamed(stock_analyst(), question)
        async for event in result.stream_events():
            if event.type != "run_item_stream_event":
                continue
            item = event.item
            if item.type == "tool_call_item":
                self.steps.publish(Step("tool_call", getattr(item.raw_item, "name", "?")))
            elif item.type == "tool_call_output_item":
                self.steps.publish(Step("tool_output", str(item.output)))
            elif item.type == "message_output_item":
                self.steps.publish(Step("message", ItemHelpers.text_message_output(item)))
        self.done.publish(True)
        return str(result.final_output)
