"""temporal.mock_nexus_operation: the same call records and expectations as activity mocks,
served behind a real endpoint on the time-skipping server and on the dev server."""

from __future__ import annotations

from datetime import timedelta

import nexusrpc
import pytest
from pytester_support import SUPPORT, run_expecting
from risk_service import (
    GuardedTrade,
    RiskRequest,
    RiskService,
    RiskVerdict,
    TradeOrder,
    place_order,
)
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest

from pytest_temporal_agents import HarnessUsageError, NexusOperationMock, TemporalHarness

EXAMPLES = SUPPORT.parent.parent / "docs" / "examples"


async def _endpoint_names(temporal: TemporalHarness) -> list[str]:
    listed = await temporal.client.operator_service.list_nexus_endpoints(ListNexusEndpointsRequest(page_size=100))
    return [endpoint.spec.name for endpoint in listed.endpoints]


async def test_calls_are_recorded_like_activity_calls(temporal: TemporalHarness) -> None:
    started = await temporal.now()
    assess = temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk", returns=RiskVerdict(True, "ok")
    )
    temporal.mock_activity(place_order, returns="ord-9")
    handle = await temporal.start(GuardedTrade.run, TradeOrder("AAPL", 7), activities=[place_order])
    assert await handle.result() == "traded 7 AAPL (ord-9)"
    assert isinstance(assess, NexusOperationMock) and temporal.mock(RiskService.assess) is assess
    assert temporal.mock("RiskService.assess") is assess
    [call] = assess.calls
    assert (call.name, call.kind, call.args, call.arguments) == (
        "RiskService.assess", "nexus operation", (RiskRequest("AAPL", 7),), {"input": RiskRequest("AAPL", 7)}
    )
    assert (call.workflow_id, call.run_id, call.attempt) == (handle.id, handle.result_run_id, 1)
    assert call.workflow_time is not None and call.workflow_time >= started
    assert call.result == RiskVerdict(True, "ok")
    assert [c.name for c in temporal.mock_calls] == ["RiskService.assess", "place_order"]
    assert "risk-desk" in await _endpoint_names(temporal)


async def test_the_endpoint_is_gone_after_the_test(temporal: TemporalHarness) -> None:
    assess = temporal.mock_nexus_operation(RiskService, RiskService.assess, returns=RiskVerdict(False, "no"))
    assert assess.endpoint.startswith("pta-riskservice-")
    result = await temporal.run(GuardedTrade.run, TradeOrder("X", 1, assess.endpoint), activities=[place_order])
    assert result == "not traded: no"
    assert assess.endpoint in await _endpoint_names(temporal)
    assert await temporal.verify() == []  # the teardown checks delete the endpoints
    assert assess.endpoint not in await _endpoint_names(temporal)


async def test_a_sequence_and_retried_errors_count_attempts(temporal: TemporalHarness) -> None:
    assess = temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk",
        sequence=[RuntimeError("risk engine warming up"), RiskVerdict(False, "too volatile")],
    )
    result = await temporal.run(GuardedTrade.run, TradeOrder("GME", 50), activities=[place_order])
    assert result == "not traded: too volatile"
    first, second = assess.calls
    assert (first.attempt, second.attempt) == (1, 2)  # the server retried a retryable failure
    assert isinstance(first.error, RuntimeError) and second.result == RiskVerdict(False, "too volatile")


async def test_an_operation_error_fails_the_operation(temporal: TemporalHarness) -> None:
    temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk",
        raises=nexusrpc.OperationError("symbol is halted", state=nexusrpc.OperationErrorState.FAILED),
    )
    result = await temporal.run(GuardedTrade.run, TradeOrder("HALT", 1), activities=[place_order])
    assert result.startswith("not traded: risk desk failed (") and "symbol is halted" in result


async def test_side_effects_and_faked_results(temporal: TemporalHarness) -> None:
    seen: list[str] = []
    assess = temporal.mock_nexus_operation(
        RiskService, "assess", endpoint="risk-desk", side_effect=lambda request: seen.append(request.symbol)
    )
    temporal.mock_activity(place_order, returns="ord-f")
    result = await temporal.run(GuardedTrade.run, TradeOrder("MSFT", 3), activities=[place_order])
    assert temporal.mock(RiskService.assess) is assess  # declared by name, found by the operation
    verdict = assess.calls[0].result
    assert isinstance(verdict, RiskVerdict)  # faked from the operation's output type
    assert result in ("traded 3 MSFT (ord-f)", f"not traded: {verdict.reason}")
    assert seen == ["MSFT"]


async def test_an_operation_of_the_service_left_unmocked_names_the_fix(temporal: TemporalHarness) -> None:
    temporal.mock_nexus_operation(RiskService, RiskService.exposure, endpoint="risk-desk", returns=1.5)
    result = await temporal.run(GuardedTrade.run, TradeOrder("AAPL", 1), activities=[place_order])
    assert result.startswith("not traded: risk desk failed (")
    assert "operation 'assess' of Nexus service 'RiskService' is not mocked in this test" in result
    assert "temporal.mock_nexus_operation(RiskService, 'assess', returns=...)" in result


async def test_bad_declarations_are_usage_errors(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="GuardedTrade.*that is not a Nexus service"):
        temporal.mock_nexus_operation(GuardedTrade, "assess")
    with pytest.raises(HarnessUsageError, match=r"service RiskService has no operation\n'asses'. "
                       r"Did you mean 'assess'\? Its operations: assess, exposure."):
        temporal.mock_nexus_operation(RiskService, "asses")
    with pytest.raises(HarnessUsageError, match=r"endpoint='risk desk'\): an endpoint name starts with a\nletter"):
        temporal.mock_nexus_operation(RiskService, RiskService.assess, endpoint="risk desk")
    with pytest.raises(HarnessUsageError, match="got returns= and raises=: give at most one"):
        temporal.mock_nexus_operation(RiskService, RiskService.assess, returns=None, raises=ValueError)
    with pytest.raises(HarnessUsageError, match="nexus operation mock 'RiskService.assess'.*cannot be sent as"):
        temporal.mock_nexus_operation(RiskService, RiskService.assess, returns=object())
    temporal.mock_nexus_operation(RiskService, RiskService.assess, returns=RiskVerdict(True, ""))
    with pytest.raises(HarnessUsageError, match="Nexus operation 'RiskService.assess' is already mocked"):
        temporal.mock_nexus_operation(RiskService, "assess", returns=RiskVerdict(True, ""))
    async with temporal.worker(workflows=[GuardedTrade]):
        with pytest.raises(HarnessUsageError, match=r"mock_nexus_operation\(.*was declared while a worker"):
            temporal.mock_nexus_operation(RiskService, RiskService.exposure, returns=0.0)


@pytest.mark.temporal(env="local")
async def test_on_the_local_dev_server_too(temporal: TemporalHarness) -> None:
    assess = temporal.mock_nexus_operation(
        RiskService, RiskService.assess, returns=lambda r: RiskVerdict(r.quantity < 10, "size")
    )
    trade = temporal.mock_activity(place_order, returns="ord-l")
    assert temporal.mock(RiskService.assess) is assess
    order = TradeOrder("AAPL", 5, assess.endpoint)
    assert await temporal.run(GuardedTrade.run, order, activities=[place_order]) == "traded 5 AAPL (ord-l)"
    assess.assert_called_once_with(RiskRequest("AAPL", 5))
    trade.assert_called_once_with("AAPL", 5)


EXPECTATIONS = """
from risk_service import GuardedTrade, RiskService, RiskVerdict, TradeOrder, place_order


async def test_expects_two_assessments(temporal):
    temporal.mock_nexus_operation(
        RiskService, RiskService.assess, endpoint="risk-desk", returns=RiskVerdict(False, "closed")
    ).expect(times=2)
    assert await temporal.run(GuardedTrade.run, TradeOrder("IBM", 1), activities=[place_order]) == (
        "not traded: closed"
    )


async def test_runs_out_of_its_sequence(temporal):
    temporal.mock_nexus_operation(RiskService, "assess", endpoint="risk-desk", sequence=[RiskVerdict(False, "a")])
    for _ in range(2):
        await temporal.run(GuardedTrade.run, TradeOrder("IBM", 1), activities=[place_order])
"""


def test_unmet_expectations_fail_the_test_at_teardown(project: pytest.Pytester) -> None:
    project.syspathinsert(str(EXAMPLES))
    project.makepyfile(test_inner_nexus=EXPECTATIONS)
    result = run_expecting(project, passed=2, errors=2)
    result.stdout.fnmatch_lines([
        ("*- nexus operation mock 'RiskService.assess': expected exactly 2 calls, got 1 call: "
        "1. RiskService.assess(RiskRequest(symbol='IBM', quantity=1)) attempt 1, workflow '*'"),
    ])
    result.stdout.fnmatch_lines([
        "*- nexus operation mock 'RiskService.assess' was called 2 times, but its sequence= has only 1 results*",
    ])


async def test_time_skips_around_a_mocked_operation(temporal: TemporalHarness) -> None:
    """A workflow that sleeps a day after its Nexus call finishes at once under time skipping."""
    temporal.mock_nexus_operation(RiskService, RiskService.assess, endpoint="risk-desk", returns=RiskVerdict(True, ""))
    temporal.mock_activity(place_order, returns="ord-t")
    handle = await temporal.start(GuardedTrade.run, TradeOrder("AAPL", 1), activities=[place_order])
    await temporal.sleep(timedelta(days=1))
    assert await handle.result() == "traded 1 AAPL (ord-t)"
