"""The trading analyst on a recorded conversation: its checked-in cassette, replayed.

``test_analyst.py`` scripts the analyst's model turn by turn; this test replays a whole
conversation recorded once through the fake model server acting as a proxy
(``cassettes/record.py``): the model asks for the market snapshot and the technical analysis
in one turn, then the risk check, then answers with its recommendation. The agent runs as in
production, an Agents SDK agent under temporalio's ``OpenAIAgentsPlugin`` on the real
time-skipping server, and its tools are the desk's real activities, so each recorded request
replays only if the tools still answer what they answered when it was recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_fixtures import AS_OF, FAST_RETRY

from pytest_temporal_agents import FakeLLM, TemporalHarness
from pytest_temporal_agents.llm import Usage
from reference_workflows.activities import create_services
from reference_workflows.analyst import AnalystTools, analyst_plugin
from reference_workflows.models import Signal
from reference_workflows.workflows.analyst import AnalystInput, TradingAnalystWorkflow

DAY = AS_OF.date().isoformat()


@pytest.fixture(name="tools")
def tools_fixture(temporal: TemporalHarness, tmp_path: Path) -> AnalystTools:
    """The analyst's tools over fresh services, and its plugin on the test's client and
    workers (one per test: see ``test_analyst.tools_fixture``)."""
    temporal.use_plugins(analyst_plugin())
    return AnalystTools(create_services(ledger_path=tmp_path / "ledger.sqlite3").agents)


@pytest.mark.llm_cassette("aapl")  # cassettes/test_analyst_cassette/aapl.yaml
@pytest.mark.llm_budget(tokens=6_000, requests=3)
async def test_the_analyst_replays_its_research_and_recommendation(
    temporal: TemporalHarness, fake_llm: FakeLLM, tools: AnalystTools
) -> None:
    handle = await temporal.start(
        TradingAnalystWorkflow.run,
        AnalystInput("AAPL", as_of=AS_OF, retry=FAST_RETRY),
        activities=tools.activities(),
    )
    result = await handle.result()

    assert fake_llm.cassette is not None
    interactions = fake_llm.cassette.cassette.interactions
    final = json.loads(interactions[-1].body["choices"][0]["message"]["content"])["response"]
    # The recommendation is the model's recorded answer, parsed into the output type...
    proposed = result.proposed
    assert (proposed.symbol, proposed.action) == ("AAPL", Signal.BUY)
    assert (proposed.quantity, proposed.confidence) == (final["quantity"], final["confidence"])
    assert proposed.rationale == final["rationale"]
    # ... held to the risk limit the desk computed (the risk check's answer to the model).
    limit = json.loads(fake_llm.requests[2].last_text)["max_position_size"]
    assert result.recommendation == proposed and proposed.quantity <= limit

    agent = await temporal.trajectory(handle)
    agent.assert_model_calls(exactly=3)  # research in one turn, the risk check, the answer
    agent.assert_tools_called(
        "market_snapshot", "technical_analysis", "risk_check", "guardrail", exactly=True
    )
    agent.assert_never_after("technical_analysis", "risk_check")  # research first
    [risk] = agent.calls("risk_check")
    assert risk.args == ("AAPL", "buy", DAY)  # the date the instructions gave
    # Every request matched its recording: the tools' answers are the recorded ones.
    assert [r.status for r in fake_llm.requests] == [200, 200, 200]
    recorded = sum((i.usage for i in interactions if i.usage is not None), Usage())
    assert fake_llm.usage == recorded and recorded.total_tokens > 0
