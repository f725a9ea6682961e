"""``trading-agents run --reasoner``: the choice, and whole runs against the fake model server.

The runs call ``cli.main`` in a thread (it owns its event loop, as the console script does)
against the plugin's local dev server (``--address``), with ``fake_llm`` active in this
process: its environment is what ``--reasoner auto`` reads, so the CLI picks the OpenAI
reasoner and talks to the fake, as it would to a local model server.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from pytest_temporal_agents import FakeLLM, TemporalHarness
from pytest_temporal_agents.llm import DUMMY_ANTHROPIC_KEY, DUMMY_OPENAI_KEY
from reference_workflows import cli
from reference_workflows.reasoners import (
    AnthropicReasoner,
    ExtraMissingError,
    OpenAIReasoner,
    ReasonerChoiceError,
    choose_reasoner,
    resolve_kind,
)

LOCAL = {"OPENAI_BASE_URL": "http://localhost:11434/v1"}


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(cli.main, list(argv))


# --------------------------------------------------------------------------- the choice


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, "rule-based"),
        ({"OPENAI_API_KEY": "k"}, "openai"),
        (LOCAL, "openai"),  # a local model server needs no key
        ({"ANTHROPIC_API_KEY": "k"}, "anthropic"),
        ({"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}, "openai"),
        ({"OPENAI_API_KEY": ""}, "rule-based"),
    ],
)
def test_auto_takes_a_model_when_the_environment_offers_one(env: dict[str, str], kind: str) -> None:
    assert resolve_kind("auto", env) == kind


def test_a_named_reasoner_needs_its_key_and_an_unknown_one_lists_the_choices() -> None:
    with pytest.raises(ReasonerChoiceError, match="needs OPENAI_API_KEY, or OPENAI_BASE_URL"):
        resolve_kind("openai", {"ANTHROPIC_API_KEY": "k"})
    with pytest.raises(ReasonerChoiceError, match="needs ANTHROPIC_API_KEY"):
        resolve_kind("anthropic", LOCAL)
    with pytest.raises(ReasonerChoiceError, match="choose one of: auto, rule-based, openai"):
        resolve_kind("gpt", {})
    assert resolve_kind("Rule_Based", {"OPENAI_API_KEY": "k"}) == "rule-based"
    with pytest.raises(ReasonerChoiceError, match="but the reasoner is rule-based"):
        choose_reasoner("auto", model="llama3.1", env={})


def test_the_choice_names_model_and_url_never_the_key() -> None:
    local = choose_reasoner("auto", model="llama3.1", env=LOCAL)
    assert isinstance(local.reasoner, OpenAIReasoner)
    assert local.description == "openai, model llama3.1 at http://localhost:11434/v1"
    env = {"ANTHROPIC_API_KEY": "sk-ant-secret-7", "TRADING_AGENTS_MODEL": "claude-haiku-4-5"}
    claude = choose_reasoner("auto", env=env)
    assert isinstance(claude.reasoner, AnthropicReasoner)
    assert claude.description == "anthropic, model claude-haiku-4-5 at api.anthropic.com"
    assert "secret" not in repr(claude) + repr(claude.reasoner)
    assert choose_reasoner("auto", env={}).description == "rule-based (no model)"


def test_a_model_reasoner_without_its_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "openai", None)  # as if not installed
    with pytest.raises(ExtraMissingError) as missing:
        choose_reasoner("openai", env=LOCAL)
    assert "pip install 'pytest-temporal-agents[llm]'" in str(missing.value)
    assert "OpenAIReasoner needs the 'openai' package" in str(missing.value)


def test_the_options_parse_and_a_bad_choice_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = cli.build_parser().parse_args(
        ["run", "ai-agent", "--reasoner", "openai", "--model", "m"]
    )
    assert (args.reasoner, args.model) == ("openai", "m")
    assert cli.build_parser().parse_args(["worker"]).reasoner == "auto"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "ai-agent", "--reasoner", "gpt"])
    assert "invalid choice: 'gpt'" in capsys.readouterr().err


def test_a_missing_key_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["run", "ai-agent", "--reasoner", "openai", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--reasoner openai needs OPENAI_API_KEY" in err
    assert cli.main(["run", "analyst", "--state-dir", str(tmp_path)]) == 2
    assert "pattern 'analyst' needs an OpenAI-compatible model" in capsys.readouterr().err


# --------------------------------------------------------------------------- whole runs


@pytest.mark.temporal(env="local")
async def test_auto_runs_the_ai_agent_on_the_fake_model_end_to_end(
    temporal: TemporalHarness,
    fake_llm: FakeLLM,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = temporal.client.service_client.config.target_host
    answer = {"action": "hold", "quantity": 0, "confidence": 0.9, "rationale": ["wait"]}
    fake_llm.reply(json.dumps(answer))

    code = await _cli(
        "run", "ai-agent", "--symbol", "MSFT", "--address", address, "--state-dir", str(tmp_path)
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Reasoner: openai, model gpt-4o-mini at {fake_llm.openai_base_url}\n" in out
    assert re.search(r"reason: the openai:gpt-4o-mini reasoner decided hold 0", out), out
    [request] = fake_llm.requests
    assert '"symbol": "MSFT"' in request.last_text
    assert DUMMY_OPENAI_KEY not in out and DUMMY_ANTHROPIC_KEY not in out


@pytest.mark.temporal(env="local")
async def test_the_analyst_pattern_runs_with_its_plugin_on_the_fake_model(
    temporal: TemporalHarness,
    fake_llm: FakeLLM,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = temporal.client.service_client.config.target_host
    day = "2024-06-28"
    fake_llm.reply_tool_call("technical_analysis", {"symbol": "MSFT", "as_of": day})
    fake_llm.reply_tool_call("risk_check", {"symbol": "MSFT", "side": "buy", "as_of": day})
    answer = {"symbol": "MSFT", "action": "hold", "quantity": 0, "confidence": 0.6, "rationale": []}
    fake_llm.reply(json.dumps({"response": answer}))

    code = await _cli(
        "run", "analyst", "--symbol", "MSFT", "--model", "llama3.1",
        "--address", address, "--state-dir", str(tmp_path),
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "Started analyst workflow analyst-MSFT-" in out
    assert "technical_analysis" in out and "risk_check" in out  # the history, narrated
    assert [r.model for r in fake_llm.requests] == ["llama3.1"] * 3
    assert json.loads(fake_llm.requests[2].last_text)["symbol"] == "MSFT"
    assert "AnalystResult:" in out and DUMMY_OPENAI_KEY not in out
