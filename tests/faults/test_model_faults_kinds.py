"""Model faults on real workflows: the unmodified openai and anthropic clients in activities,
the real Temporal server, and the fake model server failing the selected attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from model_fault_workflows import (
    ALL_ASKERS,
    Answer,
    Ask,
    AskWorkflow,
    ask_anthropic,
    ask_openai,
    ask_openai_sync,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import FakeLLM, TemporalHarness
from pytest_temporal_agents.faults import (
    EVERY_ATTEMPT,
    model_error,
    model_hang,
    model_malformed_tool_call,
    model_truncated,
)

ASKERS = {"activities": ALL_ASKERS}


# -- HTTP errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "activity"), [("openai", ask_openai), ("anthropic", ask_anthropic)]
)
async def test_a_rate_limit_in_attempt_1_is_retried_by_temporal_and_attempt_2_gets_the_script(
    temporal: TemporalHarness, fake_llm: FakeLLM, provider: str, activity: object
) -> None:
    fake_llm.reply("Hold AAPL.")
    temporal.inject(model_error(activity, 429, retry_after=2))

    answer = await temporal.run(AskWorkflow.run, Ask("AAPL?", provider=provider), **ASKERS)

    assert answer == Answer("Hold AAPL.")
    failed, _ = temporal.assert_attempts(activity, failed=[1], succeeded=2)
    assert (
        failed.error_type == "RateLimitError"
    )  # the client's own exception, raised in the activity
    assert "injected model_error in" in (failed.error or "") and failed.fault is not None
    rate_limited, answered = fake_llm.requests
    assert (rate_limited.status, answered.status) == (429, 200)
    assert rate_limited.reply is not None and rate_limited.reply.retry_after == 2


async def test_the_retry_after_header_reaches_the_client(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("ok")
    temporal.inject(model_error(ask_openai, 429, retry_after=0.01, attempts=[1]))

    # The client's own retries wait the header's 0.01 s, and fail too: every request of the
    # attempt gets the fault. Temporal's retry then gets the script.
    answer = await temporal.run(AskWorkflow.run, Ask("AAPL?", client_retries=2), **ASKERS)

    assert answer.text == "ok"
    assert [r.status for r in fake_llm.requests] == [429, 429, 429, 200]
    assert [r.headers.get("x-stainless-retry-count") for r in fake_llm.requests] == [
        "0",
        "1",
        "2",
        "0",
    ]


async def test_times_fails_only_the_first_requests_so_the_clients_own_retry_succeeds(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("ok")
    temporal.inject(model_error(ask_openai, 503, retry_after=0.01, times=1))

    answer = await temporal.run(AskWorkflow.run, Ask("AAPL?", client_retries=2), **ASKERS)

    assert answer.text == "ok"
    assert [r.status for r in fake_llm.requests] == [503, 200]
    temporal.assert_attempts(ask_openai, failed=[], succeeded=1)  # the client rode it out


@pytest.mark.parametrize(
    ("provider", "activity"), [("openai", ask_openai), ("anthropic", ask_anthropic)]
)
async def test_an_outage_on_every_attempt_fails_the_workflow_with_the_clients_error(
    temporal: TemporalHarness, fake_llm: FakeLLM, provider: str, activity: object
) -> None:
    temporal.inject(model_error(activity, 500, attempts=EVERY_ATTEMPT))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(AskWorkflow.run, Ask("AAPL?", provider=provider), **ASKERS)

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InternalServerError"
    temporal.assert_attempts(activity, failed=[1, 2, 3], succeeded=None)
    assert [r.status for r in fake_llm.requests] == [500, 500, 500]


async def test_a_401_mapped_to_non_retryable_by_the_activity_is_not_retried(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    temporal.inject(model_error(ask_openai, 401, message="Incorrect API key provided"))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(AskWorkflow.run, Ask("AAPL?"), **ASKERS)

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert "Incorrect API key provided" in cause.message
    [attempt] = temporal.assert_attempts(ask_openai, failed=[1], succeeded=None)
    assert attempt.error_type == "AuthenticationError" and "non-retryable" in (attempt.error or "")


async def test_a_401_that_the_retry_policy_lists_is_not_retried(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    temporal.inject(model_error(ask_anthropic, 401))

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(AskWorkflow.run, Ask("AAPL?", provider="anthropic"), **ASKERS)

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.type == "AuthenticationError"
    temporal.assert_attempts(ask_anthropic, failed=[1], succeeded=None)
    [request] = fake_llm.requests
    assert request.status == 401 and request.api == "anthropic.messages"


# -- a model that never answers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "activity"),
    [("openai", ask_openai), ("anthropic", ask_anthropic), ("openai_sync", ask_openai_sync)],
)
async def test_a_hang_times_the_attempt_out_in_a_fraction_of_a_second(
    temporal: TemporalHarness, fake_llm: FakeLLM, provider: str, activity: object
) -> None:
    fake_llm.reply("Answered on attempt 2.")
    temporal.inject(model_hang(activity))  # the workflow gives each attempt 30 s

    handle = await temporal.start(AskWorkflow.run, Ask("Still there?", provider=provider), **ASKERS)

    assert (await handle.result()).text == "Answered on attempt 2."
    hung, _ = temporal.assert_attempts(activity, failed=[1], succeeded=2)
    assert hung.outcome == "timed_out"
    assert hung.error == "START_TO_CLOSE timeout after 0.25 s (the model never answered)"
    history = await temporal.history(handle)
    [call] = history.activities(hung.activity)
    assert call.attempt == 2
    scheduled = history.events[4].activity_task_scheduled_event_attributes
    assert scheduled.start_to_close_timeout.ToTimedelta() == timedelta(milliseconds=250)
    assert [r.reply.kind if r.reply else None for r in fake_llm.requests] == ["hang", "message"]


# -- answers cut short or malformed -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "activity"), [("openai", ask_openai), ("anthropic", ask_anthropic)]
)
async def test_a_stream_cut_mid_answer_fails_the_attempt(
    temporal: TemporalHarness, fake_llm: FakeLLM, provider: str, activity: object
) -> None:
    fake_llm.reply("The whole answer.")
    temporal.inject(model_truncated(activity))

    answer = await temporal.run(
        AskWorkflow.run, Ask("AAPL?", provider=provider, stream=True), **ASKERS
    )

    assert answer.text == "The whole answer."
    [cut, _] = temporal.assert_attempts(activity, failed=[1], succeeded=2)
    assert cut.error_type == "APIConnectionError"
    assert [r.stream for r in fake_llm.requests] == [True, True]
    assert fake_llm.requests[0].reply is not None and fake_llm.requests[0].reply.kind == "truncated"


@pytest.mark.parametrize(
    ("provider", "activity", "stream", "error_type"),
    [
        ("openai", ask_openai, False, "MalformedToolCall"),  # the activity's own json.loads
        ("anthropic", ask_anthropic, False, "MalformedToolCall"),
        ("anthropic", ask_anthropic, True, "ValueError"),  # the client's stream parser
    ],
)
async def test_a_malformed_tool_call_fails_the_attempt_that_parses_it(
    temporal: TemporalHarness,
    fake_llm: FakeLLM,
    provider: str,
    activity: object,
    stream: bool,
    error_type: str,
) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    temporal.inject(model_malformed_tool_call(activity, "get_price"))

    answer = await temporal.run(
        AskWorkflow.run, Ask("AAPL?", provider=provider, stream=stream), **ASKERS
    )

    assert answer.tool_calls == [("get_price", {"symbol": "AAPL"})]
    [malformed, _] = temporal.assert_attempts(activity, failed=[1], succeeded=2)
    assert malformed.error_type == error_type
