"""The model reasoners on recorded conversations: checked-in cassettes, replayed.

Where ``test_model_reasoners.py`` scripts each answer, these tests replay what a model
answered, recorded once through the fake model server acting as a proxy
(``cassettes/record.py``, with ``--llm-record=all``) and checked in beside this module under
``cassettes/test_model_reasoners_cassettes/``. Each test asserts what the desk made of the
recording: the decision parsed from the model's JSON, the guardrails applied to it, the
trade, and the tokens the recording reports. Replay needs no network and no key; a prompt
that no longer matches its recording fails with a diff.

The last tests keep the recordings honest: no key in any cassette, and every cassette is
exactly what ``cassettes/record.py`` records today, so they cannot rot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reference_fixtures import AS_OF, TradingDesk
from temporalio.client import WorkflowFailureError
from test_model_reasoners import PROVIDERS, Provider, ai_agent

from pytest_temporal_agents import FakeLLM, TemporalHarness
from pytest_temporal_agents.llm import (
    DUMMY_ANTHROPIC_KEY,
    DUMMY_OPENAI_KEY,
    Cassette,
    FakeLLMProblems,
    Usage,
)
from reference_workflows import cli, patterns
from reference_workflows.models import ExecutionStatus, Signal
from reference_workflows.reasoners import SYSTEM_PROMPT, anthropic_reasoner, openai_reasoner
from reference_workflows.workflows.agents import AIAgentInput, AIAgentWorkflow

CASSETTES = Path(__file__).parent / "cassettes"
HERE = CASSETTES / Path(__file__).stem
RECORD = CASSETTES / "record.py"
#: This checkout, for the recording script's subprocess.
ROOT = Path(__file__).resolve().parents[2]


def recorded(scenario: str) -> pytest.MarkDecorator:
    """Parametrize over the reasoners, each test replaying ``<scenario>_<provider>.yaml``."""
    return pytest.mark.parametrize(
        "provider",
        [
            pytest.param(p, id=p.name, marks=pytest.mark.llm_cassette(f"{scenario}_{p.name}"))
            for p in PROVIDERS
        ],
    )


def recording(fake_llm: FakeLLM) -> Cassette:
    """The cassette the test replays (or, with ``--llm-record``, is recording)."""
    assert fake_llm.cassette is not None, "the test has no llm_cassette marker"
    return fake_llm.cassette.cassette


def tokens_of(cassette: Cassette) -> Usage:
    """The tokens the recorded answers report, added up."""
    return sum((i.usage for i in cassette.interactions if i.usage is not None), Usage())


# --------------------------------------------------------------------------- the reasoners


@recorded("aapl")
@pytest.mark.llm_budget(tokens=2_000, requests=1)
async def test_the_recorded_decision_is_parsed_and_traded(
    provider: Provider, make_desk: Callable[..., TradingDesk], fake_llm: FakeLLM
) -> None:
    reasoner = provider.build()
    desk = make_desk(reasoner=reasoner)

    result = await desk.run(AIAgentWorkflow.run, ai_agent("AAPL"))

    [interaction] = recording(fake_llm).interactions
    said = provider.answered(interaction.body)
    decision = result.decision
    [request] = fake_llm.requests
    limit = provider.context_in(request)["risk"]["max_position_size"]
    assert (decision.action, decision.quantity) == (Signal.BUY, said["quantity"])
    assert decision.quantity < limit  # inside the risk limit: the guardrail left it alone
    assert decision.confidence == said["confidence"] and decision.rationale == said["rationale"]
    assert decision.reasoner == reasoner.name and decision.symbol == "AAPL"
    assert result.status is ExecutionStatus.FILLED
    assert result.execution.quantity == said["quantity"]
    [position] = desk.broker.snapshot().positions
    assert (position.symbol, position.quantity) == ("AAPL", said["quantity"])
    assert (request.api, request.status) == (provider.api, 200)
    assert fake_llm.usage == tokens_of(recording(fake_llm)) == request.usage
    assert fake_llm.usage.input_tokens > 500  # the whole context is in the prompt


@recorded("tsla_vetoed")
async def test_a_recorded_buy_that_risk_vetoed_is_held_by_the_guardrail(
    provider: Provider, make_desk: Callable[..., TradingDesk], fake_llm: FakeLLM
) -> None:
    desk = make_desk(reasoner=provider.build())

    result = await desk.run(AIAgentWorkflow.run, ai_agent("TSLA", bars=120))

    [interaction] = recording(fake_llm).interactions
    said = provider.answered(interaction.body)
    assert (said["action"], said["quantity"] > 0) == ("buy", True)  # the model ignored risk
    assert '"approved": false' in fake_llm.requests[0].last_text  # though the prompt said so
    assert (result.decision.action, result.decision.quantity) == (Signal.HOLD, 0)
    assert result.decision.rationale == [*said["rationale"], "risk not approved: hold"]
    assert result.status is ExecutionStatus.SKIPPED
    assert desk.broker.snapshot().positions == []


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
async def test_a_changed_system_prompt_no_longer_replays_and_the_failure_shows_the_diff(
    provider: Provider,
    make_desk: Callable[..., TradingDesk],
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = openai_reasoner if provider.name == "openai" else anthropic_reasoner
    changed = SYSTEM_PROMPT.replace("of a paper-trading desk", "of a crypto desk")
    monkeypatch.setattr(module, "SYSTEM_PROMPT", changed)
    fake_llm.use_cassette(HERE / f"aapl_{provider.name}.yaml")  # replay only, as in CI
    desk = make_desk(reasoner=provider.build())
    one_attempt = dataclasses.replace(ai_agent("AAPL").retry, maximum_attempts=1)

    with pytest.raises(WorkflowFailureError):
        await desk.run(AIAgentWorkflow.run, ai_agent("AAPL", retry=one_attempt))

    assert [r.status for r in fake_llm.requests] == [400]  # the clients do not retry a 400
    with pytest.raises(FakeLLMProblems) as failure:
        fake_llm.verify()  # what the fixture's teardown would fail the test with
    report = str(failure.value)
    part = "messages" if provider.api == "openai.chat" else "system"
    assert f"it drifted from interaction #1 ({provider.api}, " in report
    assert f"): {part} changed\n" in report  # only the prompt: context and schema replay
    assert re.search(r"(?m)^\s+-.*reasoning agent of a paper-trading desk", report)  # recorded
    assert re.search(r"(?m)^\s+\+.*reasoning agent of a crypto desk", report)  # now
    assert "re-record with --llm-record=all" in report
    fake_llm.reset()  # the failure was the point


# --------------------------------------------------------------------------- the CLI


@pytest.mark.temporal(env="local")
@pytest.mark.llm_cassette("cli_googl")
@pytest.mark.llm_budget(requests=1)
async def test_trading_agents_run_with_the_openai_reasoner_replays_its_recording(
    temporal: TemporalHarness,
    fake_llm: FakeLLM,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI analyses the market of today, and a recording replays only the prompt it was
    # recorded for: pin the run's market to AS_OF, as freezing the clock would.
    build_input = patterns.Pattern.build_input

    def pinned(pattern: patterns.Pattern, options: Any) -> Any:
        workflow_input = build_input(pattern, options)
        assert isinstance(workflow_input, AIAgentInput)
        return dataclasses.replace(workflow_input, as_of=AS_OF)

    monkeypatch.setattr(patterns.Pattern, "build_input", pinned)
    address = temporal.client.service_client.config.target_host

    code = await asyncio.to_thread(
        cli.main,
        ["run", "ai-agent", "--reasoner", "openai", "--symbol", "GOOGL",
         "--address", address, "--state-dir", str(tmp_path)],
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    [interaction] = recording(fake_llm).interactions
    said = Provider("openai", openai_reasoner.OpenAIReasoner, "openai.chat").answered(
        interaction.body
    )
    assert "Reasoner: openai, model gpt-4o-mini at " in out
    assert f"    action: {said['action']}\n    quantity: {said['quantity']}\n" in out, out
    assert "    reasoner: openai:gpt-4o-mini\n  status: filled\n" in out, out
    assert f"    rationale: {said['rationale'][0][:40]}" in out  # the model's own words
    assert fake_llm.usage == tokens_of(recording(fake_llm))
    assert DUMMY_OPENAI_KEY not in out


# --------------------------------------------------------------------------- the recordings

ALL_CASSETTES = sorted(CASSETTES.rglob("*.yaml"))
#: What a key looks like: OpenAI's and Anthropic's prefixes, a bearer token, a key header.
KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_-]{8,}|bearer\s+\S|x-api-key|authorization", re.IGNORECASE)


def recording_script() -> Any:
    """``cassettes/record.py`` as a module (it is a script, not a package's module)."""
    spec = importlib.util.spec_from_file_location("record_reference_cassettes", RECORD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cassettes_are_all_there_and_hold_no_key() -> None:
    stand_in_key = recording_script().STAND_IN_KEY
    names = {path.relative_to(CASSETTES).as_posix() for path in ALL_CASSETTES}
    assert names == {
        "test_model_reasoners_cassettes/aapl_openai.yaml",
        "test_model_reasoners_cassettes/aapl_anthropic.yaml",
        "test_model_reasoners_cassettes/tsla_vetoed_openai.yaml",
        "test_model_reasoners_cassettes/tsla_vetoed_anthropic.yaml",
        "test_model_reasoners_cassettes/cli_googl.yaml",
        "test_analyst_cassette/aapl.yaml",
    }
    for path in ALL_CASSETTES:
        text = path.read_text()
        for key in (stand_in_key, DUMMY_OPENAI_KEY, DUMMY_ANTHROPIC_KEY):
            assert key not in text, f"{path} contains a key"
        assert not KEY_LIKE.search(text), f"{path}: {KEY_LIKE.search(text)}"
        assert Cassette.load(path).interactions, f"{path} is empty"


def _without_times(text: str) -> str:
    """A cassette without the answers' ``created`` times (the clock of the recording)."""
    return re.sub(r"^(\s*created(_at)?:).*$", r"\1 <time>", text, flags=re.MULTILINE)


def test_the_cassettes_are_exactly_what_the_recording_script_records(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = pytester.path / "tests" / "reference"
    (copy / "cassettes").mkdir(parents=True)
    for name in (
        "conftest.py",
        "reference_fixtures.py",
        "test_model_reasoners.py",
        "test_model_reasoners_cassettes.py",
        "test_analyst_cassette.py",
        "cassettes/record.py",
    ):
        shutil.copy(ROOT / "tests" / "reference" / name, copy / name)
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    result = pytester.run(sys.executable, copy / RECORD.relative_to(CASSETTES.parent), timeout=300)

    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"*= {len(ALL_CASSETTES)} passed, * deselected*"])
    made = sorted((copy / "cassettes").rglob("*.yaml"))
    assert [p.relative_to(copy / "cassettes") for p in made] == [
        p.relative_to(CASSETTES) for p in ALL_CASSETTES
    ]
    for fresh, checked_in in zip(made, ALL_CASSETTES):
        assert _without_times(fresh.read_text()) == _without_times(checked_in.read_text()), (
            f"{checked_in} is not what cassettes/record.py records; re-record it "
            "(PYTHONPATH=. python tests/reference/cassettes/record.py) and review the diff"
        )
