"""The trading analyst: an Agents SDK agent under temporalio's plugin, its model ``fake_llm``.

The workflow runs on the real time-skipping server with the real ``OpenAIAgentsPlugin`` (the
teardown replay included); the model is the fake model server, so every answer is scripted
and every request the agent sent can be read back. The tools are real activities over the
desk's services, on the market pinned to ``AS_OF``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_fixtures import AS_OF, FAST_RETRY
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import FakeLLM, TemporalHarness
from reference_workflows.activities import create_services
from reference_workflows.analyst import AnalystTools, analyst_plugin, parse_as_of
from reference_workflows.models import Signal
from reference_workflows.workflows.analyst import (
    ANALYST_FAILED,
    AnalystInput,
    TradingAnalystWorkflow,
)

DAY = AS_OF.date().isoformat()
TOOLS = ("market_snapshot", "technical_analysis", "risk_check")


@pytest.fixture(name="tools")
def tools_fixture(temporal: TemporalHarness, tmp_path: Path) -> AnalystTools:
    """The analyst's tools over fresh services (a paper broker with 100,000 in cash), and the
    Agents SDK plugin on the test's client and workers.

    A plugin per test, not one in a module-level marker: its model provider keeps the
    ``AsyncOpenAI`` client it made first, bound to the event loop of the test that made it,
    and each test has its own loop (a later test's first model call would fail with "Event
    loop is closed", then pass on Temporal's retry).
    """
    temporal.use_plugins(analyst_plugin())
    return AnalystTools(create_services(ledger_path=tmp_path / "ledger.sqlite3").agents)


def recommendation(action: str, quantity: int, confidence: float = 0.8) -> str:
    """The agent's final answer as the model writes it: the output type's JSON (the SDK
    asks for a dataclass wrapped in ``{"response": ...}``)."""
    answer = {
        "symbol": "AAPL",
        "action": action,
        "quantity": quantity,
        "confidence": confidence,
        "rationale": ["uptrend confirmed by MACD", "risk approved"],
    }
    return json.dumps({"response": answer})


def script_the_research(fake_llm: FakeLLM) -> None:
    """The model calls the three tools, one turn each, in the order the instructions give."""
    fake_llm.reply_tool_call("market_snapshot", {"symbol": "AAPL", "as_of": DAY})
    fake_llm.reply_tool_call("technical_analysis", {"symbol": "AAPL", "as_of": DAY})
    fake_llm.reply_tool_call("risk_check", {"symbol": "AAPL", "side": "buy", "as_of": DAY})


def analyst_input(**fields: object) -> AnalystInput:
    return AnalystInput("AAPL", **{"as_of": AS_OF, "retry": FAST_RETRY, **fields})  # type: ignore[arg-type]


async def test_the_analyst_calls_the_desk_s_tools_then_recommends(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    script_the_research(fake_llm)
    fake_llm.reply(recommendation("buy", 10))

    handle = await temporal.start(
        TradingAnalystWorkflow.run, analyst_input(), activities=tools.activities()
    )
    result = await handle.result()

    assert result.recommendation.action is Signal.BUY and result.recommendation.quantity == 10
    assert result.proposed == result.recommendation  # within the limits: nothing to change
    # What the model saw: the instructions carry the symbol and the date; each tool's answer
    # is the desk's own computation.
    first = fake_llm.requests[0]
    assert first.api == "openai.chat" and first.model == "gpt-4o-mini"
    assert f"AAPL as of {DAY}" in first.messages[0]["content"]
    assert sorted(first.tool_names) == sorted(TOOLS)
    snapshot, analysis, risk = (json.loads(r.last_text) for r in fake_llm.requests[1:])
    assert snapshot["symbol"] == "AAPL" and snapshot["last_price"] > 0
    assert analysis["signal"] == "buy"  # AAPL at AS_OF: uptrend, the analysis says buy
    assert risk["approved"] is True and risk["max_position_size"] > 10

    agent = await temporal.trajectory(handle)
    agent.assert_tools_called(*TOOLS, "guardrail", exactly=True)
    agent.assert_model_calls(exactly=4)
    [risk_step] = agent.calls("risk_check")
    assert risk_step.args == ("AAPL", "buy", DAY)


async def test_an_over_sized_recommendation_is_clamped_by_the_guardrail(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    script_the_research(fake_llm)
    fake_llm.reply(recommendation("buy", 1_000_000))

    result = await temporal.run(
        TradingAnalystWorkflow.run, analyst_input(), activities=tools.activities()
    )

    limit = json.loads(fake_llm.requests[3].last_text)["max_position_size"]
    assert result.proposed.quantity == 1_000_000
    assert result.recommendation.quantity == limit < 1_000_000
    assert result.recommendation.rationale[-1] == (
        f"guardrail: 1000000 shares clamped to the risk limit of {limit}"
    )


async def test_a_tool_called_with_a_bad_date_answers_the_model_with_the_error(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    fake_llm.reply_tool_call("market_snapshot", {"symbol": "AAPL", "as_of": "last tuesday"})
    fake_llm.reply(recommendation("hold", 0, 0.5))

    result = await temporal.run(
        TradingAnalystWorkflow.run, analyst_input(), activities=tools.activities()
    )

    assert json.loads(fake_llm.requests[1].last_text) == {
        "error": "as_of='last tuesday' is not a date; give YYYY-MM-DD"
    }
    assert result.recommendation.action is Signal.HOLD and result.recommendation.quantity == 0


async def test_a_model_outage_is_retried_by_temporal_then_the_agent_goes_on(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    fake_llm.fail(503)  # the client does not retry (the plugin's activity does)
    fake_llm.reply(recommendation("hold", 0, 0.6))

    handle = await temporal.start(
        TradingAnalystWorkflow.run, analyst_input(), activities=tools.activities()
    )
    result = await handle.result()

    assert result.recommendation.action is Signal.HOLD
    assert [r.status for r in fake_llm.requests] == [503, 200]
    [model_call] = (await temporal.trajectory(handle)).model_calls
    assert model_call.retries == 1


async def test_a_model_that_keeps_calling_tools_stops_at_max_turns(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    fake_llm.when(tool="market_snapshot").reply_tool_call(
        "market_snapshot", {"symbol": "AAPL", "as_of": DAY}
    ).reply_tool_call("market_snapshot", {"symbol": "AAPL", "as_of": DAY})

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(
            TradingAnalystWorkflow.run, analyst_input(max_turns=2), activities=tools.activities()
        )

    error = failure.value.cause
    assert isinstance(error, ApplicationError) and error.type == ANALYST_FAILED
    assert error.message == "the analyst agent failed: Max turns (2) exceeded"
    assert error.non_retryable


def test_tool_dates_are_days_in_utc() -> None:
    assert parse_as_of("2024-06-28") == AS_OF
    with pytest.raises(ValueError, match="give YYYY-MM-DD"):
        parse_as_of("28/06/2024")
