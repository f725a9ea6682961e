"""Anthropic messages: the official client parses every answer, plain and streamed."""

from __future__ import annotations

import anthropic
import pytest
from llm_clients import Client

from pytest_temporal_agents.llm import FakeLLM, Usage, estimate_tokens

MODEL = "claude-sonnet-4-5"
ASK = {
    "model": MODEL,
    "max_tokens": 256,
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "Weather in Paris?"}],
}
TOOLS = [
    {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_text_message(fake_llm: FakeLLM, anthropic_api: Client, stream: bool) -> None:
    fake_llm.reply("Sunny, 24 degrees.")

    message = await anthropic_api.answer("messages", stream=stream, **ASK)

    assert [(block.type, block.text) for block in message.content] == [
        ("text", "Sunny, 24 degrees.")
    ]
    assert (message.role, message.model, message.stop_reason) == ("assistant", MODEL, "end_turn")
    expected_input = estimate_tokens("Be brief.") + estimate_tokens("Weather in Paris?")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (expected_input, 5)
    [request] = fake_llm.requests
    assert (request.api, request.system, request.stream) == (
        "anthropic.messages",
        "Be brief.",
        stream,
    )
    assert request.usage == Usage(expected_input, 5)


async def test_raw_stream_events_follow_anthropics_order(
    fake_llm: FakeLLM, anthropic_api: Client
) -> None:
    fake_llm.reply_tool_call("get_weather", {"city": "Paris"}, text="Checking.", usage=Usage(30, 9))

    events = await anthropic_api.events("messages.create", **ASK, tools=TOOLS)

    assert [e.type for e in events] == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", *["content_block_delta"] * 2, "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    assert events[0].message.usage.input_tokens == 30
    assert (
        events[4].content_block.type == "tool_use" and events[4].content_block.name == "get_weather"
    )
    partial = "".join(
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert partial == '{"city": "Paris"}'
    assert (events[-2].delta.stop_reason, events[-2].usage.output_tokens) == ("tool_use", 9)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_parallel_tool_use_and_the_tool_result_round_trip(
    fake_llm: FakeLLM, anthropic_api: Client, stream: bool
) -> None:
    fake_llm.reply_tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}))
    fake_llm.reply("Paris 24, Rome 28.")

    first = await anthropic_api.answer("messages", stream=stream, **ASK, tools=TOOLS)
    uses = [block for block in first.content if block.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert first.stop_reason == "tool_use" and len({u.id for u in uses}) == 2

    results = [
        {"type": "tool_result", "tool_use_id": u.id, "content": f"{u.input['city']}: fine"}
        for u in uses
    ]
    messages = [
        *ASK["messages"],
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": results},
    ]
    second = await anthropic_api.call(
        "messages.create", **{**ASK, "messages": messages}, tools=TOOLS
    )

    assert second.content[0].text == "Paris 24, Rome 28."
    assert fake_llm.requests[1].last_text == "Paris: fine Rome: fine"
    assert fake_llm.requests[1].last_message["content"][0]["tool_use_id"] == uses[0].id


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_failures_raise_the_clients_own_exceptions(
    fake_llm: FakeLLM,
    anthropic_api: Client,
    status: int,
    error: type[anthropic.APIStatusError],
    kind: str,
) -> None:
    fake_llm.fail(status, retry_after=3)

    with pytest.raises(error) as raised:
        await anthropic_api.call("messages.create", **ASK)

    assert raised.value.status_code == status and raised.value.type == kind
    assert raised.value.response.headers["retry-after"] == "3"
    assert raised.value.request_id == "req_fake1"
    assert f"scripted with fake_llm.fail({status})" in str(raised.value)


def test_a_client_with_retries_gets_the_reply_after_an_overload(fake_llm: FakeLLM) -> None:
    fake_llm.fail(529, retry_after=0.01).reply("recovered")
    with fake_llm.anthropic_client(max_retries=1) as client:
        message = client.messages.create(**ASK)
    assert message.content[0].text == "recovered"
    assert [r.status for r in fake_llm.requests] == [529, 200]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_truncated_message_is_a_connection_error(
    fake_llm: FakeLLM, anthropic_api: Client, stream: bool
) -> None:
    fake_llm.truncated()
    with pytest.raises(anthropic.APIConnectionError):
        await anthropic_api.answer("messages", stream=stream, **ASK)


async def test_a_malformed_tool_call_fails_the_streaming_clients_json_parse(
    fake_llm: FakeLLM, anthropic_api: Client
) -> None:
    fake_llm.malformed_tool_call("get_weather")
    with pytest.raises(ValueError, match="Unable to parse tool parameter JSON"):
        await anthropic_api.final("messages.stream", "get_final_message", **ASK, tools=TOOLS)


def test_a_malformed_tool_call_in_a_plain_message_carries_the_raw_text(fake_llm: FakeLLM) -> None:
    fake_llm.malformed_tool_call("get_weather", "{city: Paris")
    with fake_llm.anthropic_client() as client:
        message = client.messages.create(**ASK, tools=TOOLS)
    [block] = message.content
    assert (block.type, block.name, block.input) == ("tool_use", "get_weather", "{city: Paris")


async def test_a_hang_is_ended_by_the_clients_timeout(
    fake_llm: FakeLLM, anthropic_api: Client
) -> None:
    fake_llm.hang()
    with pytest.raises(anthropic.APITimeoutError):
        await anthropic_api.call("messages.create", **ASK, timeout=0.2)


def test_models_are_listed_in_anthropics_shape(fake_llm: FakeLLM) -> None:
    with fake_llm.anthropic_client() as client:
        names = [model.id for model in client.models.list()]
        model = client.models.retrieve(MODEL)
    assert MODEL in names
    assert (model.id, model.type) == (MODEL, "model")
    assert [r.api for r in fake_llm.requests] == ["anthropic.models"] * 2
