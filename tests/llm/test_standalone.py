"""``FakeLLM`` without pytest's fixture: a context manager for scripts, its environment,
its shutdown, and a clear error when the [llm] extra is missing."""

from __future__ import annotations

import os
import sys

import anthropic
import openai
import pytest
from llm_clients import BackgroundCall

from pytest_temporal_agents.llm import (
    DUMMY_ANTHROPIC_KEY,
    DUMMY_OPENAI_KEY,
    FakeLLM,
    FakeLLMError,
    FakeLLMProblems,
    LLMExtraMissing,
)

VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")


def test_unmodified_clients_reach_it_through_the_environment_which_is_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-developers-own")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.example")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    with FakeLLM() as llm:
        assert {name: os.environ[name] for name in VARIABLES} == {
            "OPENAI_BASE_URL": f"{llm.base_url}/v1",
            "OPENAI_API_KEY": DUMMY_OPENAI_KEY,
            "ANTHROPIC_BASE_URL": llm.base_url,
            "ANTHROPIC_API_KEY": DUMMY_ANTHROPIC_KEY,
        }
        llm.reply("from openai").reply("from anthropic")
        with openai.OpenAI(max_retries=0) as client:
            said = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}]
            )
        with anthropic.Anthropic(max_retries=0) as other:
            message = other.messages.create(
                model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        assert said.choices[0].message.content == "from openai"
        assert message.content[0].text == "from anthropic"

    assert os.environ["OPENAI_API_KEY"] == "sk-the-developers-own"
    assert os.environ["ANTHROPIC_BASE_URL"] == "https://proxy.example"
    assert "OPENAI_BASE_URL" not in os.environ and "ANTHROPIC_API_KEY" not in os.environ
    assert not llm.running


def test_leaving_the_block_fails_on_an_unused_reply_but_not_over_another_error() -> None:
    with pytest.raises(FakeLLMProblems) as raised, FakeLLM() as llm:
        llm.reply("nobody asks")
    [problem] = raised.value.problems
    assert problem == (
        "scripted reply never requested: reply('nobody asks') (a reply the code never asked for; "
        "if that is expected, call fake_llm.allow_unused() or mark the test "
        "@pytest.mark.fake_llm(allow_unused=True))"
    )
    assert str(raised.value).startswith("fake_llm: 1 problem:\n- scripted reply never requested")

    with pytest.raises(ZeroDivisionError), FakeLLM() as llm:
        llm.reply("nobody asks")
        1 / 0  # noqa: B018 - the error of the block wins over the fake's check


def test_a_hanging_request_does_not_block_stopping() -> None:
    llm = FakeLLM().start()
    llm.hang()
    call = BackgroundCall(llm)

    llm.stop()

    assert call.ended() and not llm.running
    assert len(call.errors) == 1 and isinstance(call.errors[0], openai.APIError)


def test_proxies_from_the_environment_are_bypassed_for_the_fake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Port 9 (discard) has no server: a client that used the proxy would fail to connect.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.delenv("no_proxy", raising=False)
    with FakeLLM() as llm:
        assert os.environ["NO_PROXY"] == "internal.example,127.0.0.1"
        llm.reply("direct")
        with openai.OpenAI(max_retries=0) as client:
            said = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert said.choices[0].message.content == "direct"
    assert os.environ["NO_PROXY"] == "internal.example" and "no_proxy" not in os.environ


def test_two_fakes_listen_on_two_ports() -> None:
    with FakeLLM() as one, FakeLLM(models=["only-this"]) as two:
        assert one.base_url != two.base_url
        with two.openai_client() as client:
            assert [m.id for m in client.models.list()] == ["only-this"]
        assert one.requests == [] and len(two.requests) == 1


def test_urls_need_a_running_server() -> None:
    with pytest.raises(FakeLLMError, match="not running: use `with FakeLLM"):
        FakeLLM().base_url  # noqa: B018


@pytest.mark.parametrize("missing", ["uvicorn", "starlette"])
def test_without_the_extra_starting_names_it(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what an uninstalled package looks like
    with pytest.raises(LLMExtraMissing) as raised:
        FakeLLM().start()
    assert f"needs the [llm] extra, but {missing!r} is not installed" in str(raised.value)
    assert "pip install 'pytest-temporal-agents[llm]'" in str(raised.value)
    assert isinstance(raised.value, ImportError)


def test_without_the_extra_a_ready_made_client_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLM() as llm:
        monkeypatch.setitem(sys.modules, "anthropic", None)
        with pytest.raises(LLMExtraMissing, match=r"'anthropic' is not installed"):
            llm.anthropic_client()
