"""The model fails in attempt N: model faults through temporal.inject (docs/how-to/faults.md)."""

from hypothesis import given, settings
from research_agent import Question, ResearchAgent, call_model, get_price

from pytest_temporal_agents import FakeLLM, FaultPlan, TemporalHarness
from pytest_temporal_agents.faults import model_error, model_hang
from pytest_temporal_agents.llm import replies
from pytest_temporal_agents.strategies import fault_plans

AGENT = {"activities": [call_model, get_price]}


async def test_a_rate_limited_first_attempt_is_retried_by_temporal(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("Nothing to look up.")  # what the model says once it answers
    temporal.inject(model_error(call_model, 429, retry_after=0.01))

    answer = await temporal.run(ResearchAgent.run, Question("Hello?"), **AGENT)

    assert answer == "Nothing to look up."
    [limited, _] = temporal.assert_attempts(call_model, failed=[1], succeeded=2)
    assert limited.error_type == "RateLimitError"  # openai's own exception, in the activity
    # The client retried twice by itself inside attempt 1: the fault failed those requests too.
    assert [request.status for request in fake_llm.requests] == [429, 429, 429, 200]


async def test_a_model_that_never_answers_times_the_attempt_out_at_once(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("Answered on the second attempt.")
    temporal.inject(model_hang(call_model))  # the workflow gives each model call 30 s

    answer = await temporal.run(ResearchAgent.run, Question("Still there?"), **AGENT)

    assert answer == "Answered on the second attempt."
    [hung, _] = temporal.assert_attempts(call_model, failed=[1], succeeded=2)
    assert hung.error == "START_TO_CLOSE timeout after 0.25 s (the model never answered)"


def the_model(request):  # answers any number of requests: look the price up, then answer
    if request.last_message["role"] == "tool":
        return replies.reply(f"AAPL trades at {request.last_text}.")
    return replies.reply_tool_call("get_price", {"symbol": "AAPL"})


@settings(max_examples=5)
@given(
    plan=fault_plans(
        activities=[get_price],
        kinds=["retryable_error", "worker_crash"],
        model_activities=[call_model],
        model_kinds=["model_error"],  # 429, 500 and 503
        model_retry_after=0.01,  # the client's own retries wait 0.01 s, not its backoff
        max_attempt=2,
    )
)
async def test_the_agent_rides_out_rate_limits_outages_and_crashes(
    temporal: TemporalHarness, fake_llm: FakeLLM, plan: FaultPlan
) -> None:
    fake_llm.respond_with(the_model)
    async with temporal.isolated() as t:
        t.inject(plan)
        answer = await t.run(ResearchAgent.run, Question("What does AAPL cost?"), **AGENT)
        assert answer == "AAPL trades at 189.5."
