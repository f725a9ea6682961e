"""Requests the fake cannot answer faithfully: each gets an error in its API's format that
says what is wrong and how to proceed, is not retried, and fails the test at teardown."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest

from pytest_temporal_agents.llm import FakeLLM

ASK = [{"role": "user", "content": "hi"}]


def problems_then_reset(fake: FakeLLM) -> list[str]:
    found = fake.problems()
    fake.reset()
    return found


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    """POST bytes as they are (no client would send a body that is not JSON)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), ""
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers.get("x-should-retry", "")


def test_a_body_that_is_not_json_gets_openais_error(fake_llm: FakeLLM) -> None:
    url = f"{fake_llm.openai_base_url}/chat/completions"
    status, body, retry = post_raw(
        url, b'{"model": "gpt-4o",', {"content-type": "application/json"}
    )

    assert (status, retry) == (400, "false")
    assert body["error"]["type"] == "invalid_request_error"
    assert "is not JSON" in body["error"]["message"]
    [problem] = problems_then_reset(fake_llm)
    assert (
        problem.startswith("openai.chat request #1")
        and "POST /v1/chat/completions is not JSON" in problem
    )


def test_a_body_that_is_not_json_gets_anthropics_error(fake_llm: FakeLLM) -> None:
    url = f"{fake_llm.anthropic_base_url}/v1/messages"
    status, body, _ = post_raw(url, b"[1, 2]", {"anthropic-version": "2023-06-01"})

    assert status == 400
    assert (body["type"], body["error"]["type"]) == ("error", "invalid_request_error")
    assert "is JSON but not an object" in body["error"]["message"]
    assert "anthropic.messages request #1" in problems_then_reset(fake_llm)[0]


def test_an_unknown_path_lists_what_the_fake_serves(fake_llm: FakeLLM) -> None:
    with fake_llm.openai_client() as client, pytest.raises(openai.NotFoundError) as raised:
        client.post("/audio/speech", body={"model": "tts-1"}, cast_to=object)

    assert "does not serve POST /v1/audio/speech" in raised.value.message
    assert "POST /v1/chat/completions" in raised.value.message
    [problem] = problems_then_reset(fake_llm)
    assert problem.startswith("unknown request #1 (POST /v1/audio/speech)")


def test_an_unknown_path_from_anthropic_gets_anthropics_error(fake_llm: FakeLLM) -> None:
    with fake_llm.anthropic_client() as client, pytest.raises(anthropic.NotFoundError) as raised:
        client.post("/v1/files", body={}, cast_to=object)
    assert raised.value.type == "not_found_error"
    assert "does not serve POST /v1/files" in str(raised.value)
    problems_then_reset(fake_llm)


def test_a_known_path_with_another_method_is_unknown_too(fake_llm: FakeLLM) -> None:
    with (
        fake_llm.openai_client() as client,
        pytest.raises(openai.NotFoundError, match="GET /v1/responses"),
    ):
        client.get("/responses", cast_to=object)
    problems_then_reset(fake_llm)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"n": 3}, "n=3 is not implemented by the fake model server: ask for one choice"),
        ({"logprobs": True}, "logprobs=True is not implemented"),
        ({"modalities": ["text", "audio"]}, "modalities=['text', 'audio'] is not implemented"),
    ],
)
def test_chat_parameters_the_fake_does_not_implement(
    fake_llm: FakeLLM, params: dict[str, Any], named: str
) -> None:
    fake_llm.reply("never sent")
    with (
        fake_llm.openai_client(max_retries=2) as client,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o", messages=ASK, **params)

    assert named in raised.value.message
    assert len(fake_llm.requests) == 1  # x-should-retry: false
    problems = problems_then_reset(fake_llm)
    assert named in problems[0]
    assert problems[1].startswith("scripted reply never requested: reply('never sent')")


def test_responses_state_the_fake_does_not_keep(fake_llm: FakeLLM) -> None:
    with fake_llm.openai_client() as client, pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o", input="more", previous_response_id="resp_1")
    assert "send the whole conversation in input" in raised.value.message
    assert "previous_response_id='resp_1'" in problems_then_reset(fake_llm)[0]


def test_anthropic_extended_thinking_is_not_implemented(fake_llm: FakeLLM) -> None:
    with fake_llm.anthropic_client() as client, pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=2048,
            messages=ASK,
            thinking={"type": "enabled", "budget_tokens": 1024},
        )
    assert "produces no thinking blocks" in str(raised.value)
    assert "anthropic.messages request #1" in problems_then_reset(fake_llm)[0]


def test_a_text_reply_cannot_answer_embeddings(fake_llm: FakeLLM) -> None:
    fake_llm.when(api="openai.embeddings").reply("not a vector")
    with (
        fake_llm.openai_client() as client,
        pytest.raises(openai.BadRequestError, match="embeddings"),
    ):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert "only fail(), hang() and truncated() apply" in problems_then_reset(fake_llm)[0]
