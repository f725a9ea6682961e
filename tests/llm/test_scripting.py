"""Scripting the fake: the queue, rules, a responder, what is recorded, what fails a test."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from llm_clients import BackgroundCall

from pytest_temporal_agents.llm import (
    DUMMY_OPENAI_KEY,
    FakeLLM,
    FakeLLMError,
    LLMRequest,
    Reply,
    Rule,
    Usage,
    replies,
)

MODEL = "gpt-4o-mini"


def ask(client: openai.OpenAI, text: str, **kwargs: object) -> str:
    messages = [{"role": "user", "content": text}]
    completion = client.chat.completions.create(model=MODEL, messages=messages, **kwargs)
    return completion.choices[0].message.content or ""


def problems_then_reset(fake: FakeLLM) -> list[str]:
    """The problems a test provoked on purpose, cleared so that its teardown passes."""
    found = fake.problems()
    fake.reset()
    return found


def test_queued_replies_are_served_in_order(fake_llm: FakeLLM) -> None:
    fake_llm.reply("first").reply("second")
    with fake_llm.openai_client() as client:
        assert [ask(client, "a"), ask(client, "b")] == ["first", "second"]
    assert [r.reply.text for r in fake_llm.requests if r.reply] == ["first", "second"]


def test_rules_answer_matching_requests_before_the_queue(fake_llm: FakeLLM) -> None:
    fake_llm.reply("from the queue")
    fake_llm.when(contains="weather").reply("sunny").reply("rainy")
    with fake_llm.openai_client() as client:
        answers = [
            ask(client, "weather today?"),
            ask(client, "hello"),
            ask(client, "weather then?"),
        ]
    assert answers == ["sunny", "from the queue", "rainy"]


def test_a_used_up_rule_lets_requests_fall_through(fake_llm: FakeLLM) -> None:
    rule = fake_llm.when(model=MODEL).reply("by rule")
    fake_llm.reply("by queue")
    with fake_llm.openai_client() as client:
        assert [ask(client, "x"), ask(client, "x")] == ["by rule", "by queue"]
    assert rule.pending == []


def request(api: str = "openai.chat", text: str = "hi", **fields: Any) -> LLMRequest:
    return LLMRequest(api=api, messages=[{"role": "user", "content": text}], **fields)


@pytest.mark.parametrize(
    ("criteria", "matching", "other"),
    [
        ({"contains": "AAPL"}, request(text="price of AAPL"), request(text="price of TSLA")),
        ({"model": "gpt-4o"}, request(model="gpt-4o"), request(model="gpt-4o-mini")),
        (
            {"tool": "search"},
            request(tools=[{"type": "function", "function": {"name": "search"}}]),
            request(tools=[{"type": "function", "function": {"name": "browse"}}]),
        ),
        ({"tool": "search"}, request("anthropic.messages", tools=[{"name": "search"}]), request()),
        ({"api": "anthropic"}, request("anthropic.messages"), request("openai.responses")),
        ({"api": "openai.responses"}, request("openai.responses"), request("openai.chat")),
        ({"api": "openai.embeddings"}, request("openai.embeddings"), request("openai.chat")),
        ({"contains": "x"}, request(text="x"), request("openai.embeddings", inputs=["x"])),
    ],
)
def test_a_rule_matches_on_every_criterion_given(
    fake_llm: FakeLLM, criteria: dict[str, str], matching: LLMRequest, other: LLMRequest
) -> None:
    rule = fake_llm.when(**criteria)
    assert rule.matches(matching) and not rule.matches(other)


def test_a_rule_with_an_unknown_api_is_refused(fake_llm: FakeLLM) -> None:
    with pytest.raises(FakeLLMError, match=r"when\(api='openai.chat.completions'\): unknown API"):
        fake_llm.when(api="openai.chat.completions")


def test_a_responder_answers_what_the_script_does_not(fake_llm: FakeLLM) -> None:
    def echo(request: LLMRequest) -> Reply | str | None:
        if "tool" in request.last_text:
            return replies.reply_tool_call("lookup", {"q": request.last_text})
        return None if "nothing" in request.last_text else f"echo: {request.last_text}"

    fake_llm.respond_with(echo)
    with fake_llm.openai_client() as client:
        assert ask(client, "hi") == "echo: hi"
        call = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "tool"}]
        )
        assert call.choices[0].message.tool_calls[0].function.arguments == '{"q": "tool"}'
        with pytest.raises(openai.BadRequestError, match="no reply was scripted"):
            ask(client, "nothing")
    assert len(problems_then_reset(fake_llm)) == 1


def test_a_responder_that_raises_is_reported(fake_llm: FakeLLM) -> None:
    def broken(request: LLMRequest) -> str:
        raise KeyError("oops")

    fake_llm.respond_with(broken)
    with (
        fake_llm.openai_client() as client,
        pytest.raises(openai.BadRequestError, match="raised KeyError"),
    ):
        ask(client, "hi")
    [problem] = problems_then_reset(fake_llm)
    assert "respond_with(broken) raised KeyError('oops')" in problem


def test_an_unscripted_request_is_an_error_naming_it_and_a_problem(fake_llm: FakeLLM) -> None:
    with (
        fake_llm.openai_client(max_retries=2) as client,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        ask(client, "What should I buy?")
    assert (
        "openai.chat request #1 (model 'gpt-4o-mini', last message user: 'What should I buy?')"
        in (raised.value.message)
    )
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(fake_llm.requests) == 1  # not retried
    [problem] = problems_then_reset(fake_llm)
    assert problem.startswith("openai.chat request #1 (model 'gpt-4o-mini'")
    assert "no reply was scripted for it" in problem and "fake_llm.reply(" in problem


def test_replies_nobody_took_are_problems_unless_allowed(fake_llm: FakeLLM) -> None:
    fake_llm.reply("never asked")
    fake_llm.when(tool="search").reply_tool_call("search", {"q": "x"})
    fake_llm.respond_with(lambda request: "unused too")

    problems = fake_llm.problems()

    assert problems[0] == "scripted reply never requested: reply('never asked')"
    assert problems[1] == (
        "scripted reply never requested: reply_tool_call('search', {'q': 'x'}) "
        "(rule when(tool='search'))"
    )
    assert problems[2].startswith("respond_with(<lambda>) was never called")
    assert "fake_llm.allow_unused()" in problems[2]
    fake_llm.allow_unused()
    assert fake_llm.problems() == []


def test_a_request_records_what_it_asked_and_no_secret(fake_llm: FakeLLM) -> None:
    fake_llm.reply("ok", usage=Usage(10, 2))
    headers = {
        "x-api-key": "sk-live-123",
        "cookie": "session=abc",
        "x-trace": "t-1",
        "api-key": "k",
    }
    with fake_llm.openai_client(api_key="sk-live-secret", default_headers=headers) as client:
        ask(client, "hello", temperature=0.2)

    [request] = fake_llm.requests
    assert (request.api, request.model, request.stream, request.status) == (
        "openai.chat",
        MODEL,
        False,
        200,
    )
    assert request.messages == [{"role": "user", "content": "hello"}]
    assert request.body["temperature"] == 0.2
    assert request.headers["x-trace"] == "t-1" and request.path == "/v1/chat/completions"
    assert {"authorization", "x-api-key", "cookie", "api-key"}.isdisjoint(request.headers)
    everything = f"{request!r} {request.headers} {request.body} {fake_llm.requests}"
    assert "sk-live" not in everything and "session=abc" not in everything
    assert request.usage == Usage(10, 2) and fake_llm.usage == Usage(10, 2)


def test_usage_adds_up_over_requests(fake_llm: FakeLLM) -> None:
    fake_llm.reply("a", usage=Usage(5, 1)).reply("b", usage=Usage(7, 3)).fail(500)
    with fake_llm.openai_client() as client:
        ask(client, "x"), ask(client, "y")
        with pytest.raises(openai.InternalServerError):
            ask(client, "z")
    assert fake_llm.usage == Usage(12, 4) and fake_llm.usage.total_tokens == 16
    assert [r.usage for r in fake_llm.requests][2] is None


def test_reset_forgets_the_script_and_lets_a_hanging_request_go(fake_llm: FakeLLM) -> None:
    fake_llm.hang()
    fake_llm.reply("left over")
    call = BackgroundCall(fake_llm)

    fake_llm.reset()

    assert call.ended()
    [error] = call.errors
    assert isinstance(error, openai.BadRequestError) and "hang() for it has ended" in error.message
    assert fake_llm.requests == [] and fake_llm.problems() == []


def test_a_request_the_fake_has_shown_keeps_its_reply_through_a_reset(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server takes a request's reply in a thread after reading it. Slowed down here:
    # a request listed in fake_llm.requests before its reply was taken got, after a
    # reset(), an answer from the emptied script ("no reply scripted"), not its hang's end.
    from pytest_temporal_agents.llm import _app

    original = _app.run_in_threadpool

    async def slow(function: Any, *args: Any) -> Any:
        await asyncio.sleep(0.3)
        return await original(function, *args)

    monkeypatch.setattr(_app, "run_in_threadpool", slow)
    fake_llm.hang()
    call = BackgroundCall(fake_llm)

    fake_llm.reset()

    assert call.ended()
    [error] = call.errors
    assert isinstance(error, openai.BadRequestError) and "hang() for it has ended" in error.message


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (lambda f: f.fail(200), r"fail\(200\): the status must be an HTTP error status"),
        (lambda f: f.fail(429, retry_after=-1), r"retry_after=-1\): seconds >= 0"),
        (lambda f: f.reply_tool_calls(), r"needs at least one \(name, arguments\) pair"),
        (
            lambda f: f.reply_tool_calls("search"),
            r"got 'search': each call is a \(name, arguments\)",
        ),
        (lambda f: f.reply_tool_call("s", "q=1"), r"must be a mapping .* use malformed_tool_call"),
        (lambda f: f.respond_with("text"), r"respond_with\('text'\) needs a function"),
    ],
)
def test_scripting_mistakes_are_clear_errors(
    fake_llm: FakeLLM, script: object, message: str
) -> None:
    with pytest.raises(FakeLLMError, match=message):
        script(fake_llm)  # type: ignore[operator]


def test_the_replies_vocabulary_is_the_same_everywhere(fake_llm: FakeLLM) -> None:
    made = [
        replies.reply("hi"),
        replies.reply_tool_calls(("a", {}), ("b", {"x": 1})),
        replies.fail(503, retry_after=2),
        replies.hang(),
        replies.truncated(),
        replies.malformed_tool_call("a"),
    ]
    assert [r.describe() for r in made] == [
        "reply('hi')",
        "reply_tool_calls(('a', {}), ('b', {'x': 1}))",
        "fail(503, retry_after=2)",
        "hang()",
        "truncated()",
        "malformed_tool_call('a')",
    ]
    rule = fake_llm.when(api="openai")
    assert isinstance(rule, Rule) and rule.hang() is rule and fake_llm.hang() is fake_llm
    fake_llm.allow_unused()
    assert (
        fake_llm.when().fail(418).pending[0].message
        == "I'm a Teapot (scripted with fake_llm.fail(418))"
    )
    assert made[4].text and made[4].usage is None and DUMMY_OPENAI_KEY.startswith("sk-fake")
