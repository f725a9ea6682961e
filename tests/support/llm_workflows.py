"""An agent whose activity asks a model through the unmodified openai client (tests/llm)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@activity.defn
async def ask_model(question: str) -> str:
    """Ask a model as production code would: no base URL or key in the code, only the
    environment (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``), and the client's own retries."""
    import openai  # an activity imports its heavy dependencies

    async with openai.AsyncOpenAI() as client:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
    return completion.choices[0].message.content or ""


@workflow.defn
class AdvisorWorkflow:
    """Asks the model once, with a generous timeout."""

    @workflow.run
    async def run(self, question: str) -> str:
        return await workflow.execute_activity(
            ask_model, question, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class ImpatientAdvisorWorkflow:
    """Gives the model one second per attempt, and a second attempt soon after."""

    @workflow.run
    async def run(self, question: str) -> str:
        return await workflow.execute_activity(
            ask_model,
            question,
            start_to_close_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=10), maximum_attempts=2
            ),
        )
