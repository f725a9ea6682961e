"""OpenAI chat completions: the official client parses every answer, plain and streamed."""

from __future__ import annotations

import json

import openai
import pytest
from llm_clients import Client

from pytest_temporal_agents.llm import FakeLLM, Usage, estimate_tokens

MODEL = "gpt-4o-mini"
ASK = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Price of AAPL?"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}},
        },
    }
    for name in ("get_price", "get_news")
]


async def test_a_text_reply_with_usage_counted_from_the_text(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    fake_llm.reply("AAPL trades at 189.50 dollars.")

    completion = await openai_api.call("chat.completions.create", model=MODEL, messages=ASK)

    [choice] = completion.choices
    assert (choice.message.role, choice.message.content) == (
        "assistant",
        "AAPL trades at 189.50 dollars.",
    )
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert completion.model == MODEL
    expected_input = estimate_tokens("You are terse.") + estimate_tokens("Price of AAPL?")
    assert completion.usage.prompt_tokens == expected_input
    assert completion.usage.completion_tokens == estimate_tokens("AAPL trades at 189.50 dollars.")
    assert completion.usage.total_tokens == expected_input + completion.usage.completion_tokens
    [request] = fake_llm.requests
    assert request.usage == Usage(expected_input, completion.usage.completion_tokens)


async def test_a_stream_with_include_usage_ends_with_a_usage_chunk(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    fake_llm.reply("one two three", usage=Usage(input_tokens=40, output_tokens=3))

    chunks = await openai_api.events(
        "chat.completions.create", model=MODEL, messages=ASK, stream_options={"include_usage": True}
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    *body, last = chunks
    assert all(c.usage is None for c in body)
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        40,
        3,
        43,
    )
    assert fake_llm.requests[0].stream is True


async def test_a_stream_without_include_usage_has_no_usage_but_records_it(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    fake_llm.reply("short answer")

    chunks = await openai_api.events("chat.completions.create", model=MODEL, messages=ASK)

    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"
    assert fake_llm.requests[0].usage == Usage(estimate_tokens("You are terse. Price of AAPL?"), 2)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_parallel_tool_calls_with_text(
    fake_llm: FakeLLM, openai_api: Client, stream: bool
) -> None:
    fake_llm.reply_tool_calls(
        ("get_price", {"symbol": "AAPL"}),
        ("get_news", {"symbol": "AAPL", "days": 7}),
        text="Looking.",
    )
    kwargs = {"model": MODEL, "messages": ASK, "tools": TOOLS}

    completion = await openai_api.answer("chat", stream=stream, **kwargs)

    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Looking."
    calls = choice.message.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_price", {"symbol": "AAPL"}),
        ("get_news", {"symbol": "AAPL", "days": 7}),
    ]
    assert len({c.id for c in calls}) == 2 and all(c.type == "function" for c in calls)
    assert fake_llm.requests[0].tool_names == ["get_price", "get_news"]


async def test_a_tool_result_round_trip(fake_llm: FakeLLM, openai_api: Client) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"}).reply("AAPL is at 189.5.")

    first = await openai_api.call("chat.completions.create", model=MODEL, messages=ASK, tools=TOOLS)
    [call] = first.choices[0].message.tool_calls
    conversation = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"price": 189.5}'},
    ]
    second = await openai_api.call(
        "chat.completions.create", model=MODEL, messages=conversation, tools=TOOLS
    )

    assert second.choices[0].message.content == "AAPL is at 189.5."
    assert fake_llm.requests[1].last_message == conversation[-1]
    assert fake_llm.requests[1].last_text == '{"price": 189.5}'


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
async def test_failures_raise_the_clients_own_exceptions(
    fake_llm: FakeLLM, openai_api: Client, status: int, error: type[openai.APIStatusError]
) -> None:
    fake_llm.fail(status, retry_after=7, message="scripted trouble")

    with pytest.raises(error) as raised:
        await openai_api.call("chat.completions.create", model=MODEL, messages=ASK)

    assert raised.value.status_code == status
    assert raised.value.message.endswith("scripted trouble")
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.request_id == "req_fake1"
    assert fake_llm.requests[0].status == status and fake_llm.requests[0].usage is None


def test_a_rate_limit_names_its_type_and_code(fake_llm: FakeLLM) -> None:
    fake_llm.fail(429)
    with fake_llm.openai_client() as client, pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model=MODEL, messages=ASK)
    assert (raised.value.type, raised.value.code) == ("requests", "rate_limit_exceeded")
    assert "Too Many Requests (scripted with fake_llm.fail(429))" in raised.value.message


def test_a_client_with_retries_honours_retry_after_and_gets_the_next_reply(
    fake_llm: FakeLLM,
) -> None:
    fake_llm.fail(429, retry_after=0.01).fail(503, retry_after=0.01).reply("third time lucky")

    with fake_llm.openai_client(max_retries=2) as client:
        completion = client.chat.completions.create(model=MODEL, messages=ASK)

    assert completion.choices[0].message.content == "third time lucky"
    assert [r.status for r in fake_llm.requests] == [429, 503, 200]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_truncated_answer_is_a_connection_error(
    fake_llm: FakeLLM, openai_api: Client, stream: bool
) -> None:
    fake_llm.truncated("The market opened higher and then")

    with pytest.raises(openai.APIConnectionError):
        await openai_api.answer("chat", stream=stream, model=MODEL, messages=ASK)

    assert fake_llm.requests[0].reply is not None and fake_llm.requests[0].reply.kind == "truncated"


def test_a_truncated_stream_delivers_part_of_the_text_first(fake_llm: FakeLLM) -> None:
    fake_llm.truncated("one two three four five six seven eight")
    seen = []
    with fake_llm.openai_client() as client, pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model=MODEL, messages=ASK, stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    assert "one" in "".join(seen)
    assert "eight" not in "".join(seen)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_malformed_tool_call_has_arguments_that_are_not_json(
    fake_llm: FakeLLM, openai_api: Client, stream: bool
) -> None:
    fake_llm.malformed_tool_call("get_price")
    kwargs = {"model": MODEL, "messages": ASK, "tools": TOOLS}

    completion = await openai_api.answer("chat", stream=stream, **kwargs)

    [call] = completion.choices[0].message.tool_calls
    assert call.function.name == "get_price"
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


async def test_a_hang_is_ended_by_the_clients_timeout(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    fake_llm.hang()

    with pytest.raises(openai.APITimeoutError):
        await openai_api.call("chat.completions.create", model=MODEL, messages=ASK, timeout=0.2)

    [request] = fake_llm.requests
    assert request.status is None and request.reply is not None and request.reply.kind == "hang"
    assert "status=hanging" in repr(request)
