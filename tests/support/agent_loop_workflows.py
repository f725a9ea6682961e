"""The agent loop of the trajectory tests (tests/llm/test_trajectory.py).

The tests run the hand-written agent of docs/examples/weather_agent.py (reused, not
copied); here is what they need besides: a variant that calls its model as a local
activity, as the Agents SDK does with ``ModelActivityParameters(use_local_activity=True)``.
A module of its own, importing only temporalio: the sandbox re-imports a workflow's module
for every run.
"""

from __future__ import annotations

from temporalio import workflow
from weather_agent import RETRY, TIMEOUT, ModelReply, WeatherAgent, call_model


@workflow.defn
class LocalModelAgent(WeatherAgent):
    """The same loop, its model called as a local activity."""

    @workflow.run
    async def run(self, question: str) -> str:
        return await super().run(question)

    async def ask(self, messages: list[str]) -> ModelReply:
        return await workflow.execute_local_activity(
            call_model, messages, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
