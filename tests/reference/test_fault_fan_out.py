"""The portfolio fan-out under injected faults: failures collected, the rest aggregated."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_fixtures import AS_OF
from temporalio.client import WorkflowFailureError

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.faults import EVERY_ATTEMPT, non_retryable_error, retryable_error
from reference_workflows.activities import create_services
from reference_workflows.agents import Agents
from reference_workflows.market import EXCHANGE_UNAVAILABLE
from reference_workflows.workflows.common import RetryOptions, error_type
from reference_workflows.workflows.fan_out import (
    NO_SYMBOL_ANALYSED,
    PortfolioAnalysisInput,
    PortfolioAnalysisResult,
    PortfolioAnalysisWorkflow,
)

SYMBOLS = ["AAPL", "MSFT", "TSLA", "PEP"]
#: Three attempts, so an exchange that stays down fails its symbol after two retries.
RETRY = RetryOptions(maximum_attempts=3)


def portfolio(symbols: list[str] = SYMBOLS) -> PortfolioAnalysisInput:
    return PortfolioAnalysisInput(symbols=symbols, as_of=AS_OF, retry=RETRY)


def only(symbol: str) -> object:
    return lambda context: context.symbol == symbol


async def test_the_fan_out_collects_partial_failures_and_aggregates_the_rest(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    services = create_services(ledger_path=tmp_path / "ledger.sqlite3")
    temporal.inject(
        # TSLA's analysis is refused for good, PEP's exchange never comes back,
        # MSFT's blips once: only the first two are lost.
        non_retryable_error(Agents.analysis_agent, where=only("TSLA"), type="ModelRefused", message="no"),
        retryable_error(Agents.analysis_agent, where=only("PEP"), attempts=EVERY_ATTEMPT, type=EXCHANGE_UNAVAILABLE),
        retryable_error(Agents.analysis_agent, where=only("MSFT"), attempts=[1], type=EXCHANGE_UNAVAILABLE),
    )
    result: PortfolioAnalysisResult = await temporal.run(
        PortfolioAnalysisWorkflow.run, portfolio(), activities=services.activities()
    )
    assert [a.symbol for a in result.analyses] == ["AAPL", "MSFT"]
    assert [(f.symbol, f.error_type) for f in result.failures] == [
        ("TSLA", "ModelRefused"),
        ("PEP", EXCHANGE_UNAVAILABLE),
    ]
    assert (result.summary.analysed, result.summary.failed) == (2, 2)
    assert sorted(result.summary.buy + result.summary.sell + result.summary.hold) == ["AAPL", "MSFT"]
    workflow = temporal.started_workflows[0]
    calls = {call[0].args[0].symbol: call for call in _calls(temporal, workflow)}
    assert [a.outcome for a in calls["TSLA"]] == ["failed"]
    assert [a.outcome for a in calls["PEP"]] == ["failed"] * 3
    assert [a.outcome for a in calls["MSFT"]] == ["failed", "succeeded"]


async def test_the_fan_out_fails_only_when_no_symbol_could_be_analysed(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    services = create_services(ledger_path=tmp_path / "ledger.sqlite3")
    temporal.inject(non_retryable_error(Agents.analysis_agent, type="ModelRefused"))
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(PortfolioAnalysisWorkflow.run, portfolio(["AAPL", "MSFT"]), activities=services.activities())
    assert error_type(failure.value) == NO_SYMBOL_ANALYSED


def _calls(temporal: TemporalHarness, workflow: str) -> list[list[object]]:
    grouped: dict[str, list[object]] = {}
    for attempt in temporal.attempts(Agents.analysis_agent, workflow=workflow):
        grouped.setdefault(attempt.activity_id, []).append(attempt)
    return list(grouped.values())
