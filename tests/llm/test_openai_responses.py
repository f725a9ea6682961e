"""OpenAI responses, embeddings and models: what the official client parses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from llm_clients import Client

from pytest_temporal_agents.llm import FakeLLM, Usage, estimate_tokens

MODEL = "gpt-4o"
TOOLS = [
    {"type": "function", "name": "get_price", "parameters": {"type": "object", "properties": {}}}
]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_text_response(fake_llm: FakeLLM, openai_api: Client, stream: bool) -> None:
    fake_llm.reply("Buy low, sell high.", usage=Usage(12, 5))
    kwargs = {"model": MODEL, "input": "Any advice?", "instructions": "Be brief."}

    response = await openai_api.answer("responses", stream=stream, **kwargs)

    assert response.output_text == "Buy low, sell high."
    assert response.status == "completed" and response.model == MODEL
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.total_tokens,
    ) == (12, 5, 17)
    [request] = fake_llm.requests
    assert request.api == "openai.responses" and request.stream is stream
    assert request.system == "Be brief."
    assert request.messages == [{"role": "user", "content": "Any advice?"}]


async def test_raw_stream_events_arrive_in_order_with_deltas(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    fake_llm.reply("alpha beta")

    events = await openai_api.events("responses.create", model=MODEL, input="go")

    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["alpha", " beta"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.usage.output_tokens == 2


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_function_calls(fake_llm: FakeLLM, openai_api: Client, stream: bool) -> None:
    fake_llm.reply_tool_calls(("get_price", {"symbol": "AAPL"}), ("get_price", {"symbol": "TSLA"}))
    kwargs = {"model": MODEL, "input": "prices?", "tools": TOOLS}

    response = await openai_api.answer("responses", stream=stream, **kwargs)

    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_price", {"symbol": "AAPL"}),
        ("get_price", {"symbol": "TSLA"}),
    ]
    assert len({c.call_id for c in calls}) == 2
    assert response.output_text == ""
    assert fake_llm.requests[0].tool_names == ["get_price"]


async def test_a_function_call_output_is_recorded_as_the_last_input(fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"}).reply("189.5")
    async with fake_llm.async_openai_client() as client:
        first = await client.responses.create(model=MODEL, input="price?", tools=TOOLS)
        [call] = first.output
        items = [
            {"role": "user", "content": "price?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "189.5 USD"},
        ]
        second = await client.responses.create(model=MODEL, input=items, tools=TOOLS)
    assert second.output_text == "189.5"
    assert fake_llm.requests[1].last_text == "189.5 USD"


async def test_a_rate_limit_on_responses(fake_llm: FakeLLM, openai_api: Client) -> None:
    fake_llm.fail(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as raised:
        await openai_api.call("responses.create", model=MODEL, input="x")
    assert raised.value.response.headers["retry-after"] == "2"
    assert raised.value.response.headers["retry-after-ms"] == "2000"


async def test_a_truncated_response_stream(fake_llm: FakeLLM, openai_api: Client) -> None:
    fake_llm.truncated()
    with pytest.raises(openai.APIConnectionError):
        await openai_api.events("responses.create", model=MODEL, input="x")


# -- embeddings and models ----------------------------------------------------------------------


async def test_embeddings_are_unit_vectors_from_the_text(
    fake_llm: FakeLLM, openai_api: Client
) -> None:
    result = await openai_api.call(
        "embeddings.create", model="text-embedding-3-small", input=["apple", "banana", "apple"]
    )

    vectors = [item.embedding for item in result.data]
    assert [len(v) for v in vectors] == [1536] * 3
    assert vectors[0] == vectors[2] != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-5
    assert vectors[0] == FakeLLM.embedding("apple")
    assert result.usage.prompt_tokens == 3
    [request] = fake_llm.requests
    assert (request.api, request.inputs, request.usage) == (
        "openai.embeddings",
        ["apple", "banana", "apple"],
        Usage(3, 0),
    )


def test_float_and_base64_encodings_give_the_same_numbers_at_any_size(fake_llm: FakeLLM) -> None:
    with fake_llm.openai_client() as client:
        as_base64 = client.embeddings.create(
            model="text-embedding-3-large", input="hello"
        )  # the default
        as_floats = client.embeddings.create(
            model="m", input="hello", encoding_format="float", dimensions=8
        )
    assert as_base64.data[0].embedding[:8] != as_floats.data[0].embedding
    assert len(as_base64.data[0].embedding) == 3072
    assert as_floats.data[0].embedding == FakeLLM.embedding("hello", dimensions=8)
    assert as_base64.data[0].embedding == FakeLLM.embedding("hello", model="text-embedding-3-large")
    assert fake_llm.requests[0].body["encoding_format"] == "base64"


def test_embeddings_are_the_same_in_another_process() -> None:
    code = (
        "from pytest_temporal_agents.llm import FakeLLM\n"
        "print(FakeLLM.embedding('stable', dimensions=4))"
    )
    root = Path(__file__).resolve().parents[2]  # this checkout's package, not an installed one
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert other.stdout.strip() == str(FakeLLM.embedding("stable", dimensions=4))
    # Pinned: a change to the derivation would silently change every user's stored vectors.
    expected = [0.508015, 0.310495, -0.33077, -0.732192]
    assert FakeLLM.embedding("stable", dimensions=4) == pytest.approx(expected, abs=1e-6)


async def test_a_rule_can_fail_embeddings(fake_llm: FakeLLM, openai_api: Client) -> None:
    fake_llm.when(api="openai.embeddings").fail(500)
    fake_llm.reply("for chat only")
    with pytest.raises(openai.InternalServerError):
        await openai_api.call("embeddings.create", model="text-embedding-3-small", input="x")
    chat = await openai_api.call(
        "chat.completions.create", model=MODEL, messages=[{"role": "user", "content": "x"}]
    )
    assert chat.choices[0].message.content == "for chat only"
    assert estimate_tokens("for chat only") == chat.usage.completion_tokens


def test_a_rule_can_cut_embeddings_and_the_next_request_gets_vectors(fake_llm: FakeLLM) -> None:
    fake_llm.when(api="openai.embeddings").truncated()
    with fake_llm.openai_client() as client:
        with pytest.raises(openai.APIConnectionError):
            client.embeddings.create(model="text-embedding-3-small", input="cut")
        result = client.embeddings.create(model="text-embedding-3-small", input="whole")
    assert result.data[0].embedding == FakeLLM.embedding("whole")
    cut, whole = fake_llm.requests
    assert cut.reply is not None and cut.reply.kind == "truncated" and whole.reply is None
    assert cut.usage == whole.usage == Usage(1, 0)


async def test_models_are_listed_and_retrieved(fake_llm: FakeLLM, openai_api: Client) -> None:
    page = await openai_api.call("models.list")
    assert "gpt-4o-mini" in [m.id for m in page.data]
    model = await openai_api.call("models.retrieve", model="gpt-4o")
    assert (model.id, model.object) == ("gpt-4o", "model")
    with pytest.raises(openai.NotFoundError, match="not in the fake's list"):
        await openai_api.call("models.retrieve", model="gpt-99")
    assert [r.api for r in fake_llm.requests] == ["openai.models"] * 3
    fake_llm.reset()  # the unknown model was a request the fake refused, on purpose
