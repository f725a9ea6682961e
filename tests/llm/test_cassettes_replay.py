"""Cassettes end to end: record real clients' traffic through a FakeLLM acting as a proxy
whose upstream is a second FakeLLM, stop the upstream, and replay.

No test touches the network: the "real provider" is the second fake, named by the
environment variables before the recording fake starts, as a real key and URL would be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from research_agent import Question, ResearchAgent, call_model, get_price

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.llm import (
    Budget,
    FakeLLM,
    FakeLLMProblems,
    Usage,
    budget_problems,
)

#: What the upstream's key would be: it must reach the upstream and never the file.
SECRET = "sk-upstream-secret-4f9a1c2e7b"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """The "real provider": a second fake, named by the environment with a secret key."""
    fake = FakeLLM().start()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    try:
        yield fake
    finally:
        fake.stop()


#: Clients a test opened: closed before a fake stops (open keep-alive connections would
#: make its server wait for them).
OPEN: list[openai.OpenAI] = []


def opened(client: openai.OpenAI) -> openai.OpenAI:
    OPEN.append(client)
    return client


#: The recording fake, one for the module (as the fixture's is one per session).
PROXY = FakeLLM()


@pytest.fixture(scope="module", autouse=True)
def _proxy_server() -> Iterator[None]:
    PROXY.start()
    try:
        yield
    finally:
        PROXY.stop()


def run(path: Path, calls: Callable[[], Any], *, record: str = "none") -> tuple[Any, FakeLLM]:
    """Make ``calls`` through the recording fake using the cassette ``path``; its
    upstream is the environment's now, as the fixture's is the environment before it."""
    PROXY.reset()
    PROXY.activate()
    try:
        with PROXY.use_cassette(path, record=record):
            try:
                result = calls()
            finally:
                while OPEN:
                    OPEN.pop().close()
        PROXY.verify()
    finally:
        PROXY.deactivate()
    return result, PROXY


def chat(stream: bool = False, **extra: Any) -> Callable[[], Any]:
    def call() -> Any:
        with openai.OpenAI(max_retries=0) as client:  # the environment's URL and key
            messages = [{"role": "user", "content": "Weather in Paris?\nBe brief."}]
            answer = client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL], stream=stream, **extra
            )
            return [chunk.model_dump() for chunk in answer] if stream else answer.model_dump()

    return call


def responses(stream: bool = False) -> Callable[[], Any]:
    def call() -> Any:
        with openai.OpenAI(max_retries=0) as client:
            answer = client.responses.create(
                model="gpt-4o-mini",
                instructions="Be brief.",
                input="Weather in Paris?",
                stream=stream,
            )
            return [event.model_dump() for event in answer] if stream else answer.model_dump()

    return call


def messages(stream: bool = False) -> Callable[[], Any]:
    def call() -> Any:
        asked = [{"role": "user", "content": "Weather in Paris?"}]
        with anthropic.Anthropic(max_retries=0) as client:
            answer = client.messages.create(
                model="claude-haiku-4-5", max_tokens=100, messages=asked, stream=stream
            )
            return [event.model_dump() for event in answer] if stream else answer.model_dump()

    return call


CALLS = {
    "chat": chat(),
    "chat-stream": chat(stream=True, stream_options={"include_usage": True}),
    "responses": responses(),
    "responses-stream": responses(stream=True),
    "messages": messages(),
    "messages-stream": messages(stream=True),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_recorded_answer_replays_identically_with_the_upstream_gone(
    upstream: FakeLLM, tmp_path: Path, call: Callable[[], Any]
) -> None:
    upstream.reply("Sunny, 21 degrees in Paris.", usage=Usage(40, 9))
    cassette = tmp_path / "weather.yaml"

    recorded, _ = run(cassette, call, record="all")
    upstream.stop()  # from here on, an answer can only come from the file
    replayed, proxy = run(cassette, call)

    assert replayed == recorded
    assert "Sunny" in str(replayed) and "Paris." in str(replayed)
    assert len(upstream.requests) == 1
    [request] = proxy.requests
    assert (request.status, request.usage) == (200, Usage(40, 9))  # as the upstream reported


def test_the_key_reaches_no_file_whatever_carries_it(upstream: FakeLLM, tmp_path: Path) -> None:
    upstream.reply("Sunny.")
    cassette = tmp_path / "weather.yaml"

    run(cassette, chat(user=SECRET), record="all")  # a body field carrying the key too

    text = cassette.read_text()
    assert SECRET not in text
    assert "user: <scrubbed>" in text
    assert "authorization" not in text.lower() and "x-api-key" not in text.lower()
    assert upstream.requests[0].body["user"] == SECRET  # the upstream got the request as sent


def test_tool_calls_replay_and_the_next_turn_matches(upstream: FakeLLM, tmp_path: Path) -> None:
    upstream.reply_tool_call("get_weather", {"city": "Paris"}).reply("Sunny.")
    cassette = tmp_path / "agent.yaml"

    def agent() -> list[Any]:
        client = opened(openai.OpenAI(max_retries=0))
        conversation: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
        answers = []
        for _ in range(2):
            message = (
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=conversation, tools=[WEATHER_TOOL]
                )
                .choices[0]
                .message
            )
            answers.append(message.content or message.tool_calls[0].function.arguments)
            conversation.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls or ():
                conversation.append({"role": "tool", "tool_call_id": call.id, "content": "21C"})
        return answers

    recorded, _ = run(cassette, agent, record="all")
    upstream.stop()
    replayed, proxy = run(cassette, agent)

    assert replayed == recorded == ['{"city": "Paris"}', "Sunny."]
    assert [r.last_message["role"] for r in proxy.requests] == ["user", "tool"]


def test_a_drifted_request_fails_with_a_diff_of_what_changed(
    upstream: FakeLLM, tmp_path: Path
) -> None:
    upstream.reply("Sunny.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, chat(), record="all")

    def changed() -> None:
        client = opened(openai.OpenAI(max_retries=0))
        with pytest.raises(openai.BadRequestError, match="drifted from interaction #1"):
            client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "Weather in Lyon?\nBe brief."}],
                tools=[WEATHER_TOOL],
            )

    with pytest.raises(FakeLLMProblems) as failure:
        run(cassette, changed)

    report = str(failure.value)
    assert (
        "it drifted from interaction #1 (openai.chat, model 'gpt-4o-mini'): model, messages changed"
        in report
    )
    assert '-"gpt-4o-mini"' in report and '+"gpt-4o"' in report
    assert '-    "content": "Weather in Paris?\\nBe brief.",' in report
    assert '+    "content": "Weather in Lyon?\\nBe brief.",' in report
    assert "tools" not in report.split("changed")[0]  # unchanged parts are not shown
    assert "--llm-record=all" in report
    assert "never requested" not in report  # the drifted interaction is not reported twice


def test_a_changed_tool_list_is_drift_too(upstream: FakeLLM, tmp_path: Path) -> None:
    upstream.reply("Sunny.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, chat(), record="all")

    def without_tools() -> None:
        client = opened(openai.OpenAI(max_retries=0))
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Weather in Paris?\nBe brief."}],
            )

    with pytest.raises(FakeLLMProblems, match=r"tools changed") as failure:
        run(cassette, without_tools)
    assert '-    "type": "function"' in str(failure.value)


def test_a_request_beyond_the_recording_and_one_never_made_fail_the_test(
    upstream: FakeLLM, tmp_path: Path
) -> None:
    upstream.reply("Sunny.").reply("Rainy.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, lambda: [chat()(), messages()()], record="all")
    upstream.stop()

    def twice_chat() -> None:
        chat()()
        with pytest.raises(openai.BadRequestError):
            chat()()

    with pytest.raises(FakeLLMProblems) as failure:
        run(cassette, twice_chat)

    report = str(failure.value)
    assert "has no interaction left for it (1 recorded for openai.chat, all used)" in report
    assert (
        "interaction #2 (anthropic.messages, model 'claude-haiku-4-5') was never requested"
        in report
    )

    with FakeLLM() as proxy, proxy.use_cassette(cassette):
        proxy.allow_unused()  # the same opt-out as for scripted replies
        chat()()


def test_new_mode_replays_what_matches_and_records_only_what_is_missing(
    upstream: FakeLLM, tmp_path: Path
) -> None:
    upstream.reply("Sunny.").reply("About Lyon: rainy.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, chat(), record="all")

    def then_lyon() -> str:
        chat()()
        client = opened(openai.OpenAI(max_retries=0))
        asked = [{"role": "user", "content": "And Lyon?"}]
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=asked)
        return str(answer.choices[0].message.content)

    answer, _ = run(cassette, then_lyon, record="new")

    assert answer == "About Lyon: rainy."
    assert [r.last_text for r in upstream.requests] == ["Weather in Paris?\nBe brief.", "And Lyon?"]
    upstream.stop()
    assert run(cassette, then_lyon)[0] == "About Lyon: rainy."


def test_scripted_replies_come_before_the_cassette(upstream: FakeLLM, tmp_path: Path) -> None:
    upstream.reply("Sunny.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, chat(), record="all")

    with FakeLLM() as proxy, proxy.use_cassette(cassette):
        proxy.fail(429, retry_after=0)  # a rate limit first, then the recorded answer
        client = opened(openai.OpenAI(max_retries=1))
        answer = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Weather in Paris?\nBe brief."}],
            tools=[WEATHER_TOOL],
        )
        OPEN.pop().close()
    assert answer.choices[0].message.content == "Sunny."
    assert [r.status for r in proxy.requests] == [429, 200]


def test_replayed_usage_feeds_budgets_and_a_stream_without_usage_is_estimated(
    upstream: FakeLLM, tmp_path: Path
) -> None:
    upstream.reply("Sunny.", usage=Usage(1200, 300)).reply("Sunny and warm today.")
    cassette = tmp_path / "weather.yaml"
    run(cassette, lambda: [messages(stream=True)(), chat(stream=True)()], record="all")
    upstream.stop()

    _, proxy = run(cassette, lambda: [messages(stream=True)(), chat(stream=True)()])

    first, second = proxy.requests
    assert first.usage == Usage(1200, 300)  # message_start's input, message_delta's output
    assert second.usage is not None and second.usage.output_tokens == 5  # counted from the text
    text = cassette.read_text()
    assert "input_tokens: 1200\n    output_tokens: 300\n" in text
    assert text.count("estimated: true") == 1
    [problem] = budget_problems(proxy.requests, Budget(tokens=1000))
    assert "tokens" in problem and "1200" in problem


def test_requests_made_in_another_order_still_find_their_answers(
    upstream: FakeLLM, tmp_path: Path
) -> None:
    upstream.when(contains="Paris").reply("Sunny.")
    upstream.when(contains="Lyon").reply("Rainy.")
    cassette = tmp_path / "weather.yaml"

    def ask(city: str) -> str:
        client = opened(openai.OpenAI(max_retries=0))
        asked = [{"role": "user", "content": f"Weather in {city}?"}]
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=asked)
        return str(answer.choices[0].message.content)

    run(cassette, lambda: [ask("Paris"), ask("Lyon")], record="all")
    upstream.stop()

    assert run(cassette, lambda: [ask("Lyon"), ask("Paris")])[0] == ["Rainy.", "Sunny."]


async def test_a_workflow_activity_calls_the_model_from_a_cassette(
    temporal: TemporalHarness, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    cassette = tmp_path / "agent.yaml"
    agent = {"activities": [call_model, get_price]}
    fake_llm.deactivate()  # the fixture's fake steps aside while an upstream and a recorder stand in
    with FakeLLM() as upstream:  # the environment names it: the recorder's upstream
        upstream.reply_tool_call("get_price", {"symbol": "AAPL"}).reply("AAPL trades at 189.5.")
        with FakeLLM() as recorder, recorder.use_cassette(cassette, record="all"):
            question = Question("What does AAPL cost?")
            recorded = await temporal.run(ResearchAgent.run, question, **agent)
    assert not upstream.running

    fake_llm.activate()
    fake_llm.use_cassette(cassette)
    answer = await temporal.run(ResearchAgent.run, Question("What does AAPL cost?"), **agent)

    assert answer == recorded == "AAPL trades at 189.5."
    assert [r.status for r in fake_llm.requests] == [200, 200]
    assert fake_llm.requests[1].last_message["content"] == "189.5"
    assert fake_llm.usage == sum((r.usage for r in upstream.requests if r.usage), Usage())


def test_a_refused_key_is_not_recorded(upstream: FakeLLM, tmp_path: Path) -> None:
    upstream.fail(401, message="Incorrect API key provided: sk-ups**********7b")
    cassette = tmp_path / "weather.yaml"

    def refused() -> None:
        with pytest.raises(openai.BadRequestError, match="refused the key"):
            chat()()

    with pytest.raises(FakeLLMProblems, match=r"\(HTTP 401\); check OPENAI_API_KEY"):
        run(cassette, refused, record="all")
    assert "interactions: []" in cassette.read_text()
