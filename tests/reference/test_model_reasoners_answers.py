"""How a model's answer becomes a decision: parsed, rebuilt with ``value_to_type``, checked.

Pure functions, no server: each malformed answer must raise the retryable
``MalformedAnswerError`` (so Temporal asks the model again), each tolerable one must parse.
The last test proves the reference system runs without the model packages.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from reference_fixtures import AS_OF, BARS

from reference_workflows.agents import Agents
from reference_workflows.models import AgentContext, Signal, Strategy
from reference_workflows.reasoners import MALFORMED_MODEL_ANSWER, MalformedAnswerError
from reference_workflows.reasoners.answers import parse_json, to_decision

CONTEXT = Agents().gather(AgentContext("AAPL", Strategy.MOMENTUM, bars=BARS, as_of=AS_OF))
GOOD: dict[str, Any] = {"action": "buy", "quantity": 3, "confidence": 0.7, "rationale": ["up"]}


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({**GOOD, "action": "yolo"}, "does not fit AgentDecision"),
        ({**GOOD, "quantity": -1}, "quantity -1 is not a whole number"),
        ({**GOOD, "quantity": 2.5}, "quantity 2.5 is not a whole number"),
        ({**GOOD, "quantity": True}, "quantity True is not a whole number"),
        ({**GOOD, "confidence": 1.5}, "confidence 1.5 is not in [0, 1]"),
        ({"action": "buy", "quantity": 1}, "lacks confidence, rationale"),
    ],
)
def test_a_malformed_decision_raises_a_retryable_error(
    answer: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(MalformedAnswerError) as error:
        to_decision(answer, CONTEXT, "openai:m")
    assert complaint in str(error.value)
    application_error = error.value.to_application_error()
    assert (application_error.type, application_error.non_retryable) == (
        MALFORMED_MODEL_ANSWER,
        False,
    )


@pytest.mark.parametrize(
    "text",
    ["", "I would buy.", "[1, 2]", '{"action": "buy", '],
    ids=["empty", "prose", "list", "cut"],
)
def test_text_without_a_json_object_is_malformed(text: str) -> None:
    with pytest.raises(MalformedAnswerError, match="trading_decision"):
        parse_json(text, "trading_decision")


def test_what_local_models_add_around_the_json_is_tolerated() -> None:
    fenced = 'Here you go:\n```json\n{"action": "SELL", "quantity": 2, "confidence": 0.6, "rationale": [], "extra": 1}\n```'
    decision = to_decision(parse_json(fenced, "trading_decision"), CONTEXT, "openai:m")
    assert (decision.action, decision.quantity, decision.symbol) == (Signal.SELL, 2, "AAPL")
    hold = to_decision({**GOOD, "action": "hold", "quantity": 9}, CONTEXT, "openai:m")
    assert hold.quantity == 0  # holding trades nothing, whatever the model wrote


def test_the_reference_system_runs_without_the_model_packages() -> None:
    script = textwrap.dedent(
        """
        import sys
        for name in ("openai", "anthropic", "agents"):
            sys.modules[name] = None  # as if not installed
        from reference_workflows import cli
        from reference_workflows.patterns import PatternError, RunOptions, get_pattern
        from reference_workflows.reasoners import ExtraMissingError, choose_reasoner
        from reference_workflows.workflows import ALL_WORKFLOWS
        import reference_workflows.analyst
        assert choose_reasoner("auto", env={}).kind == "rule-based"
        assert "TradingAnalystWorkflow" not in {cls.__name__ for cls in ALL_WORKFLOWS}
        try:
            get_pattern("analyst").build_input(RunOptions())
        except PatternError as error:
            print(error)
        try:
            choose_reasoner("anthropic", env={"ANTHROPIC_API_KEY": "k"})
        except ExtraMissingError as error:
            print(error)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        (
            "pattern 'analyst' runs on the OpenAI Agents SDK, which is not installed; install it "
            "with: pip install 'pytest-temporal-agents[agents]'"
        ),
        (
            "AnthropicReasoner needs the 'anthropic' package, which is not installed; install it "
            "with: pip install 'pytest-temporal-agents[llm]'"
        ),
    ]
