"""Model faults: the errors and reports around them, the limit of what the fake can tell
apart, and the vocabulary itself."""

from __future__ import annotations

from textwrap import dedent

import pytest
from hypothesis import given, settings
from model_fault_workflows import (
    ALL_ASKERS,
    Ask,
    AskWorkflow,
    BothProvidersWorkflow,
    ask_anthropic,
    ask_openai,
)
from pytester_support import SUPPORT, run_expecting

from pytest_temporal_agents import (
    FakeLLM,
    FaultPlan,
    FaultWarning,
    HarnessUsageError,
    IsolatedChecksFailed,
    TemporalHarness,
)
from pytest_temporal_agents.faults import (
    ModelFault,
    model_error,
    model_hang,
    model_malformed_tool_call,
    model_truncated,
)
from pytest_temporal_agents.llm import replies
from pytest_temporal_agents.strategies import fault_plans

ASKERS = {"activities": ALL_ASKERS}


# -- bad use -------------------------------------------------------------------------------------
async def test_a_model_fault_in_a_test_without_the_fake_says_to_add_the_fake_llm_fixture(
    temporal: TemporalHarness,
) -> None:
    assert FakeLLM.active() is None

    with pytest.raises(HarnessUsageError) as error:
        temporal.inject(model_error(ask_openai, 429))

    message = str(error.value)
    assert "model_error('ask_openai', status=429)" in message
    assert (
        "Add the fake_llm fixture" in message
        and "async def test_rate_limits(temporal, fake_llm)" in message
    )
    assert list(temporal.injected_faults) == []


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: model_error(ask_openai, 200), "status=200"),
        (lambda: model_error(ask_openai, "429"), "status='429'"),
        (lambda: model_error(ask_openai, 429, retry_after=-1), "retry_after=-1"),
        (lambda: model_error(ask_openai, 429, attempts=[0]), "attempts=[0]"),
        (lambda: model_truncated(ask_openai, times=0), "times=0"),
        (lambda: model_truncated(ask_openai, api="gemini"), "api='gemini'"),
        (lambda: model_truncated(ask_openai, contains=""), "contains=''"),
        (lambda: model_hang(ask_openai, shortened_to=0), "shortened_to=0"),
        (lambda: model_malformed_tool_call(ask_openai, ""), "''"),
    ],
)
def test_bad_arguments_are_named_with_the_fix(build: object, named: str) -> None:
    with pytest.raises(HarnessUsageError) as error:
        build()  # type: ignore[operator]

    assert named in str(error.value) and "invalid" in str(error.value)


def test_a_model_fault_reads_as_the_call_that_built_it() -> None:
    faults = [
        model_error(ask_openai, 429, retry_after=2, attempts=[1, 2]),
        model_hang("ask_openai"),
        model_truncated(ask_anthropic, api="anthropic", times=1),
        model_malformed_tool_call(ask_openai, "get_price", contains="AAPL"),
    ]

    assert [repr(f) for f in faults] == [
        "model_error('ask_openai', attempts=[1, 2], status=429, retry_after=2)",
        "model_hang('ask_openai')",
        "model_truncated('ask_anthropic', api='anthropic', times=1)",
        "model_malformed_tool_call('ask_openai', name='get_price', contains='AAPL')",
    ]
    assert all(isinstance(f, ModelFault) for f in faults)
    assert FaultPlan(*faults).kinds == [
        "model_error",
        "model_hang",
        "model_truncated",
        "model_malformed_tool_call",
    ]


# -- a fault that never met a request ---------------------------------------------------------------
async def test_a_model_fault_whose_attempt_made_no_matching_request_fails_the_checks(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("ok")

    with pytest.raises(IsolatedChecksFailed) as failed:
        async with temporal.isolated() as t:
            t.inject(model_error(ask_openai, 429, contains="a question nobody asks"))
            assert (await t.run(AskWorkflow.run, Ask("AAPL?"), **ASKERS)).text == "ok"

    message = str(failed.value)
    assert (
        "model_error('ask_openai', status=429, contains='a question nobody asks') selected ask_openai attempt 1"
        in message
    )
    assert "no model request matching {'contains': 'a question nobody asks'}" in message
    assert "the fault never fired" in message


UNUSED_TESTS = dedent(
    """
    from inner_model_workflows import AGENT_ACTIVITIES, PriceAgent, agent_model, lookup_price
    from pytest_temporal_agents.faults import model_error

    async def test_a_fault_names_an_activity_that_never_calls_the_model(temporal, fake_llm):
        fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"}).reply("AAPL trades at 189.5.")
        temporal.inject(model_error(lookup_price, 503), model_error(agent_model, 429, attempts=[2]))
        answer = await temporal.run(PriceAgent.run, "AAPL?", activities=AGENT_ACTIVITIES)
        assert answer == "AAPL trades at 189.5."
    """
)


def test_at_teardown_an_unused_model_fault_fails_the_test_naming_the_activity_and_attempt(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        inner_model_workflows=(SUPPORT / "model_fault_workflows.py").read_text(),
        test_inner=UNUSED_TESTS,
    )
    result = run_expecting(
        project, "-W", "ignore::DeprecationWarning", "-p", "no:cacheprovider", errors=1, passed=1
    )
    result.stdout.fnmatch_lines(
        [
            "*- model_error('lookup_price', status=503) selected lookup_price attempt 1 (workflow *), but no model request",
            "*reached the fake model server while that attempt ran: the fault never fired.",
        ]
    )
    # attempt 2 of agent_model never ran (attempt 1 succeeded): nothing to report, as for any fault
    assert "model_error('agent_model'" not in result.stdout.str()


# -- what the fake cannot tell apart ------------------------------------------------------------------
async def test_requests_of_other_activities_during_the_attempt_get_the_failure_too_and_a_warning_says_so(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    # The openai attempt's window stays open while its client retries (0.2 s apart); the
    # anthropic activity asks 0.1 s in. The fake cannot tell who sent a request.
    temporal.inject(model_error(ask_openai, 503, retry_after=0.2))
    asks = [Ask("Hi", client_retries=2), Ask("Hi", provider="anthropic", delay=0.1)]

    answers = await temporal.run(BothProvidersWorkflow.run, asks, **ASKERS)

    assert answers == ["error: InternalServerError", "error: ServiceUnavailableError"]
    with pytest.warns(FaultWarning, match=r"(?s)these\s+attempts ran at the same time: ask_anthropic attempt 1"):
        await temporal.verify()  # the teardown's checks, which warn

    assert [(r.api, r.status) for r in fake_llm.requests] == [
        ("openai.chat", 503),
        ("anthropic.messages", 503),
        ("openai.chat", 503),
        ("openai.chat", 503),
    ]


async def test_a_filter_keeps_the_failure_to_the_faulted_activitys_requests(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.when(api="anthropic").reply("Hi from Claude.")
    temporal.inject(model_error(ask_openai, 503, retry_after=0.2, api="openai"))
    asks = [Ask("Hi", client_retries=2), Ask("Hi", provider="anthropic", delay=0.1)]

    assert await temporal.run(BothProvidersWorkflow.run, asks, **ASKERS) == [
        "error: InternalServerError",
        "Hi from Claude.",
    ]
    assert sorted(r.status for r in fake_llm.requests if r.api == "openai.chat") == [503, 503, 503]


async def test_the_timeline_shows_the_model_failure_of_each_attempt(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("ok")
    temporal.inject(
        model_error(ask_anthropic, 529, attempts=[1]), model_truncated(ask_anthropic, attempts=[2])
    )
    handle = await temporal.start(AskWorkflow.run, Ask("AAPL?", provider="anthropic"), **ASKERS)
    await handle.result()

    timeline = (await temporal.history(handle)).timeline()

    assert (
        "attempt 1: failed: 529 injected model_error in ask_anthropic attempt 1: HTTP 529"
        in timeline
    )
    assert "[OverloadedError] (injected model_error('ask_anthropic', status=529))" in timeline
    assert (
        "[APIConnectionError] (injected model_truncated('ask_anthropic', attempts=[2]))" in timeline
    )
    assert "attempt 3: succeeded" in timeline


# -- the fake's side: overrides ---------------------------------------------------------------------
def test_an_override_answers_ahead_of_the_script_until_closed(fake_llm: FakeLLM) -> None:
    import openai

    fake_llm.reply("from the script")
    client = fake_llm.openai_client()
    ask = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

    with fake_llm.override(replies.fail(503), times=1, api="openai.chat") as override:
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(**ask)  # type: ignore[call-overload]
        # times=1: the next request falls through to the script while the override is held
        assert client.chat.completions.create(**ask).choices[0].message.content == "from the script"  # type: ignore[call-overload]

    assert [r.status for r in override.served] == [503]
    assert (
        override.closed
        and repr(override)
        == "<override(fail(503), when(api='openai.chat'), times=1) closed, 1 served>"
    )


def test_an_override_needs_a_reply(fake_llm: FakeLLM) -> None:
    from pytest_temporal_agents.llm import FakeLLMError

    with pytest.raises(FakeLLMError, match="needs a reply built with replies"):
        fake_llm.override("503")  # type: ignore[arg-type]


# -- strategies -----------------------------------------------------------------------------------
@settings(max_examples=50, database=None)
@given(
    plan=fault_plans(
        ["lookup_price"], model_activities=[ask_openai], model_kinds=["model_error", "model_hang"]
    )
)
def test_fault_plans_draw_model_faults_only_for_the_model_activities(plan: FaultPlan) -> None:
    for fault in plan:
        if isinstance(fault, ModelFault):
            assert fault.activity == "ask_openai" and fault.kind in ("model_error", "model_hang")
            assert fault.kind != "model_error" or fault.status in (429, 500, 503)
        else:
            assert fault.activity == "lookup_price"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"activities": ["a"], "kinds": ["model_error"]},
            "is a model fault; draw it for the model-calling",
        ),
        (
            {"model_activities": ["m"], "model_kinds": ["retryable_error"]},
            "is not a model fault kind",
        ),
        (
            {"model_activities": ["m"], "model_kinds": ["model_malformed_tool_call"]},
            "needs tools=[...]",
        ),
        (
            {"model_activities": ["m"], "model_statuses": [200]},
            "needs at least one HTTP error status",
        ),
        ({}, "needs at least one activity"),
    ],
)
def test_fault_plans_refuse_model_kinds_they_cannot_draw(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(HarnessUsageError) as error:
        fault_plans(**options)  # type: ignore[arg-type]

    assert message in str(error.value)
