"""The model reasoners, each through the fake model server, inside the real agent workflows.

Both reasoners run the same tests (``PROVIDERS``): the only difference is how the fake is
scripted, a JSON text for chat completions, a forced tool call for Anthropic. The workflows
run on the time-skipping server with the desk's real activities; the reasoner is called by
``reasoning_agent`` in a worker thread, as in production.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from reference_fixtures import AGENT_RETRY, AS_OF, BARS, TradingDesk, pinned_inputs

from pytest_temporal_agents import FakeLLM, LLMRequest
from pytest_temporal_agents.llm import Rule
from reference_workflows.agents import Agents
from reference_workflows.models import AgentContext, ExecutionStatus, Signal, Strategy
from reference_workflows.reasoners import (
    AnthropicReasoner,
    MalformedAnswerError,
    ModelReasoner,
    OpenAIReasoner,
)
from reference_workflows.workflows.agents import AIAgentInput, AIAgentWorkflow

ai_agent = pinned_inputs(AIAgentInput, retry=AGENT_RETRY, bars=BARS, strategy=Strategy.MOMENTUM)
SECRET = "sk-test-never-print-me-4242"


@dataclass(frozen=True)
class Provider:
    """How to build one reasoner and script its model's answers on the fake."""

    name: str
    build: Callable[..., ModelReasoner]
    api: str

    def answer(
        self, fake: FakeLLM | Rule, data: dict[str, Any], tool: str = "trading_decision"
    ) -> None:
        """Script ``data`` as the model's answer, on the fake or on one of its rules."""
        if self.api == "openai.chat":
            fake.reply(json.dumps(data))  # structured output arrives as the message's text
        else:
            fake.reply_tool_call(tool, data)  # the forced tool call's input

    def answered(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer in a response body of this API (what ``answer`` scripts)."""
        if self.api == "openai.chat":
            text: str = body["choices"][0]["message"]["content"]
            answer: dict[str, Any] = json.loads(text)
            return answer
        [call] = [block for block in body["content"] if block["type"] == "tool_use"]
        return dict(call["input"])

    def context_in(self, request: LLMRequest) -> dict[str, Any]:
        """The agents' context, as the prompt carries it."""
        prompt = request.last_text
        assert "Context:\n" in prompt, prompt
        context: dict[str, Any] = json.loads(prompt.split("Context:\n", 1)[1])
        return context


PROVIDERS = [
    Provider("openai", OpenAIReasoner, "openai.chat"),
    Provider("anthropic", AnthropicReasoner, "anthropic.messages"),
]
providers = pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)


def decision(action: str = "buy", quantity: int = 5, confidence: float = 0.8) -> dict[str, Any]:
    return {"action": action, "quantity": quantity, "confidence": confidence, "rationale": ["up"]}


@providers
async def test_the_model_decides_from_a_prompt_that_carries_the_context(
    provider: Provider, make_desk: Callable[..., TradingDesk], fake_llm: FakeLLM
) -> None:
    reasoner = provider.build()
    desk = make_desk(reasoner=reasoner)
    provider.answer(fake_llm, decision("buy", 5))

    result = await desk.run(AIAgentWorkflow.run, ai_agent("AAPL"))

    assert result.decision.reasoner == reasoner.name == f"{provider.name}:{reasoner.model}"
    assert (result.decision.action, result.decision.quantity) == (Signal.BUY, 5)
    assert result.decision.rationale == ["up"]
    assert result.status is ExecutionStatus.FILLED and result.execution.quantity == 5
    [request] = fake_llm.requests
    assert request.api == provider.api and request.model == reasoner.model
    context = provider.context_in(request)
    assert context["symbol"] == "AAPL" and context["strategy"] == "momentum"
    assert context["analysis"]["signal"] == "buy"  # AAPL at AS_OF: the analysis says buy
    assert context["risk"]["approved"] is True and context["risk"]["max_position_size"] > 5
    assert context["as_of"].startswith(AS_OF.date().isoformat())
    if provider.api == "openai.chat":
        assert request.body is not None and request.body["temperature"] == 0
        assert request.body["response_format"]["json_schema"]["name"] == "trading_decision"
    else:
        assert request.body is not None
        assert request.body["tool_choice"] == {"type": "tool", "name": "trading_decision"}


@providers
async def test_a_malformed_answer_is_retried_by_temporal_then_succeeds(
    provider: Provider, make_desk: Callable[..., TradingDesk], fake_llm: FakeLLM
) -> None:
    desk = make_desk(reasoner=provider.build())
    provider.answer(fake_llm, {"action": "to the moon", "quantity": 5, "confidence": 0.9})
    provider.answer(fake_llm, decision("hold", 0, 0.7))

    handle = await desk.start(AIAgentWorkflow.run, ai_agent("AAPL"))
    result = await handle.result()

    assert result.decision.action is Signal.HOLD and result.status is ExecutionStatus.SKIPPED
    assert len(fake_llm.requests) == 2
    [reasoning] = (await desk.history(handle)).activities("reasoning_agent")
    assert reasoning.attempt == 2  # one activity, retried by Temporal, not by the client


@providers
async def test_an_over_sized_quantity_is_clamped_by_the_guardrails(
    provider: Provider, make_desk: Callable[..., TradingDesk], fake_llm: FakeLLM
) -> None:
    desk = make_desk(reasoner=provider.build())
    provider.answer(fake_llm, decision("buy", 1_000_000))

    result = await desk.run(AIAgentWorkflow.run, ai_agent("AAPL", execute=False))

    limit = provider.context_in(fake_llm.requests[0])["risk"]["max_position_size"]
    assert result.decision.quantity == limit < 1_000_000


@providers
async def test_the_key_never_reaches_a_request_record_the_history_or_the_output(
    provider: Provider,
    make_desk: Callable[..., TradingDesk],
    fake_llm: FakeLLM,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reasoner = provider.build(api_key=SECRET)
    desk = make_desk(reasoner=reasoner)
    provider.answer(fake_llm, decision("sell", 2))

    handle = await desk.start(AIAgentWorkflow.run, ai_agent("AAPL", execute=False))
    result = await handle.result()

    assert result.decision.action is Signal.SELL
    [request] = fake_llm.requests
    seen = [
        repr(reasoner),
        repr(result),
        repr(request),
        json.dumps(request.headers),
        json.dumps(request.body),
        (await desk.history(handle)).to_json(),
        capsys.readouterr().out,
        caplog.text,
    ]
    assert not [text for text in seen if SECRET in text]


@providers
def test_a_plan_is_the_model_s_levels_with_notional_and_risk_computed(
    provider: Provider, fake_llm: FakeLLM
) -> None:
    context = Agents().gather(AgentContext("AAPL", Strategy.MOMENTUM, bars=BARS, as_of=AS_OF))
    levels = {"entry_price": 200.0, "stop_loss": 190.0, "take_profit": 220.0}
    provider.answer(
        fake_llm, {"action": "BUY", "quantity": 10, **levels, "rationale": []}, "trading_plan"
    )
    provider.answer(
        fake_llm,
        {"action": "buy", "quantity": 10, **levels, "stop_loss": 210.0, "rationale": []},
        "trading_plan",
    )

    plan = provider.build().plan(context)

    assert (plan.signal, plan.quantity, plan.notional, plan.max_loss) == (
        Signal.BUY,
        10,
        2000.0,
        100.0,
    )
    assert plan.approved and plan.strategy is Strategy.MOMENTUM
    with pytest.raises(MalformedAnswerError, match="stop-loss and take-profit on either side"):
        provider.build().plan(context)
