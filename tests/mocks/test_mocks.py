"""Activity mocks on the real time-skipping server: behaviours, records and assertions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mocking_workflows import (
    Desk,
    FanOutWorkflow,
    Order,
    Quote,
    SubmitWorkflow,
    TimedWorkflow,
    TradeWorkflow,
    audit,
    fetch_quote,
    place_order,
)
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from pytest_temporal_agents import HarnessUsageError, TemporalHarness, fake_value
from pytest_temporal_agents.mocks._fakes import seed_for

ALL = [fetch_quote, place_order, audit]


async def test_returns_replaces_the_activity_and_records_decoded_calls(temporal: TemporalHarness) -> None:
    quote = temporal.mock_activity(fetch_quote, returns=Quote("AAPL", 50.0))
    order = temporal.mock_activity(place_order, returns=lambda order, dry_run: f"filled {order.quantity} {order.symbol}")
    result = await temporal.run(TradeWorkflow.run, "AAPL", activities=ALL)
    assert result == "filled 10 AAPL"
    quote.assert_called_once_with("AAPL")
    order.assert_called_once_with(Order("AAPL", 10))  # expected arguments get the defaults
    order.assert_called_once_with(order=Order("AAPL"), dry_run=False)
    [call] = order.calls
    assert isinstance(call.args[0], Order)  # decoded to the declared type, not a dict
    assert call.arguments == {"order": Order("AAPL", 10), "dry_run": False}
    assert call.attempt == 1 and call.activity_id
    assert call.workflow_id == temporal.started_workflows[0]
    assert call.workflow_time is not None and call.result == "filled 10 AAPL"
    assert [c.name for c in temporal.mock_calls] == ["fetch_quote", "place_order"]
    temporal.assert_call_order(fetch_quote, place_order)
    assert temporal.mock(place_order) is order and temporal.mock("fetch_quote") is quote


async def test_raises_fails_each_attempt_and_the_retries_are_recorded(temporal: TemporalHarness) -> None:
    quote = temporal.mock_activity(fetch_quote, raises=ApplicationError("feed down", type="FeedDown"))
    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.run(TradeWorkflow.run, "AAPL", activities=ALL)
    assert isinstance(failure.value.cause, ActivityError)
    assert failure.value.cause.cause.type == "FeedDown"  # type: ignore[union-attr]
    assert [call.attempt for call in quote.calls] == [1, 2, 3]
    assert all(isinstance(call.error, ApplicationError) for call in quote.calls)
    times = [call.workflow_time for call in quote.calls]
    assert times == sorted(times) and len({call.workflow_id for call in quote.calls}) == 1


async def test_sequence_gives_one_result_per_call_and_raises_exception_items(temporal: TemporalHarness) -> None:
    quote = temporal.mock_activity(
        fetch_quote, sequence=[ApplicationError("blip"), RuntimeError, Quote("MSFT", 500.0)]
    )
    assert await temporal.run(TradeWorkflow.run, "MSFT", activities=ALL) == "skip MSFT at 500.0"
    assert [call.attempt for call in quote.calls] == [1, 2, 3]
    assert [type(call.error).__name__ for call in quote.calls] == ["ApplicationError", "RuntimeError", "NoneType"]


async def test_side_effect_sees_the_arguments_and_may_fail_the_call(temporal: TemporalHarness) -> None:
    seen: list[str] = []

    async def check(symbol: str) -> None:
        seen.append(symbol)
        if len(seen) == 1:
            raise ApplicationError("first attempt fails")

    temporal.mock_activity(fetch_quote, returns=Quote("T", 150.0), side_effect=check)
    assert await temporal.run(TradeWorkflow.run, "T", activities=ALL) == "skip T at 150.0"
    assert seen == ["T", "T"]


async def test_after_makes_the_call_take_workflow_time(temporal: TemporalHarness) -> None:
    temporal.mock_activity(fetch_quote, returns=Quote("X", 1.0), after=timedelta(hours=2))
    took = await temporal.run(TimedWorkflow.run, activities=[fetch_quote])
    assert timedelta(hours=2) <= timedelta(seconds=took) < timedelta(hours=2, minutes=1)


async def test_a_mock_without_behaviour_returns_a_faked_value_of_the_declared_type(
    temporal: TemporalHarness,
) -> None:
    quote = temporal.mock_activity(fetch_quote)
    order = temporal.mock_activity(place_order)
    temporal.mock_activity(audit)
    result = await temporal.run(TradeWorkflow.run, "ZZ", activities=ALL)
    faked = quote.calls[0].result
    assert isinstance(faked, Quote) and faked.symbol.isupper() and faked.price > 0
    if faked.price > 100:
        assert result == f"skip {faked.symbol} at {faked.price}"
    else:
        assert result == order.calls[0].result and isinstance(result, str)


async def test_faked_values_are_the_same_for_the_same_seed(temporal: TemporalHarness) -> None:
    quote = temporal.mock_activity(fetch_quote)
    temporal.seed = 1234  # applies to the calls that follow
    await temporal.run(TimedWorkflow.run, activities=[fetch_quote])
    await temporal.run(TimedWorkflow.run)
    first, second = (call.result for call in quote.calls)
    assert first != second  # each call its own value...
    # ...derived from the seed, the mock and the call's position in the test.
    assert first == fake_value(Quote, seed=seed_for(1234, "activity", "fetch_quote", 1))


async def test_mocks_by_name_and_without_listing_the_real_activity(temporal: TemporalHarness) -> None:
    temporal.mock_activity("fetch_quote", returns=Quote("N", 101.0))
    assert await temporal.run(TradeWorkflow.run, "N", activities=[fetch_quote]) == "skip N at 101.0"
    by_function = TemporalHarness(temporal.env, test_id="unlisted")
    try:
        by_function.mock_activity(fetch_quote, returns=Quote("U", 200.0))
        assert await by_function.run(TradeWorkflow.run, "U") == "skip U at 200.0"
    finally:
        await by_function.close()


async def test_explicit_workers_get_the_mocks_too(temporal: TemporalHarness) -> None:
    mock = temporal.mock_activity(fetch_quote, returns=Quote("W", 300.0))
    async with temporal.worker(workflows=[TradeWorkflow], activities=ALL):
        assert await temporal.run(TradeWorkflow.run, "W") == "skip W at 300.0"
    mock.assert_called_once()


async def test_assertions_fail_with_the_calls_listed(temporal: TemporalHarness) -> None:
    mock = temporal.mock_activity(fetch_quote, returns=Quote("A", 500.0))
    with pytest.raises(AssertionError, match="to be called; it was not called"):
        mock.assert_called()
    await temporal.run(TradeWorkflow.run, "A", activities=ALL)
    mock.assert_called()
    mock.assert_any_call("A")
    with pytest.raises(AssertionError, match=r"once as fetch_quote\('B'\); 1 call: 1\. fetch_quote\('A'\) attempt 1"):
        mock.assert_called_once_with("B")
    with pytest.raises(AssertionError, match="not to be called; 1 call"):
        mock.assert_not_called()
    with pytest.raises(AssertionError, match="to be fetch_quote"):
        mock.assert_called_with("C")
    with pytest.raises(AssertionError, match="no call of activity mock 'fetch_quote' follows the earlier"):
        temporal.assert_call_order(fetch_quote, fetch_quote)


async def test_call_order_ignores_calls_in_between(temporal: TemporalHarness) -> None:
    for fn in ALL:
        temporal.mock_activity(fn, returns=None if fn is audit else Quote("O", 1.0) if fn is fetch_quote else "r")
    await temporal.run(TradeWorkflow.run, "O", activities=ALL)
    temporal.assert_call_order(fetch_quote, audit)
    with pytest.raises(AssertionError) as failure:
        temporal.assert_call_order(audit, fetch_quote)
    assert "expected calls in the order audit -> fetch_quote" in str(failure.value)
    assert "- 1. fetch_quote('O') attempt 1" in str(failure.value)
    assert "- 3. audit('r') attempt 1" in str(failure.value)


async def test_expect_checks_counts(temporal: TemporalHarness) -> None:
    mock = temporal.mock_activity(fetch_quote, returns=Quote("E", 500.0)).expect(times=2)
    await temporal.run(TradeWorkflow.run, "E", activities=ALL)
    with pytest.raises(AssertionError) as failure:
        temporal.assert_expectations()
    assert "- activity mock 'fetch_quote': expected exactly 2 calls, got 1 call: 1. fetch_quote('E')" in str(
        failure.value
    )
    mock._expectations.clear()  # this test checks the message; teardown should pass
    mock.expect(at_least=1, at_most=1)
    temporal.assert_expectations()
    assert await temporal.verify() == []


# -- errors, all raised before any workflow runs -----------------------------------------------


async def test_an_unknown_name_is_an_error_with_suggestions(temporal: TemporalHarness) -> None:
    temporal.mock_activity("fetch_qoute", returns=Quote("A", 1.0))
    with pytest.raises(HarnessUsageError) as failure:
        await temporal.run(TradeWorkflow.run, "A", activities=ALL)
    message = str(failure.value)
    assert "mock_activity('fetch_qoute') mocks an activity that no worker of this test registers" in message
    assert "Did you mean 'fetch_quote'?" in message
    assert "Registered activities: audit, fetch_quote, place_order." in message
    assert "Mock by function instead" in message


async def test_a_returns_value_that_does_not_fit_the_return_type_is_an_error(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError) as failure:
        temporal.mock_activity(fetch_quote, returns=Order("A"))
    assert "activity mock 'fetch_quote': returns=Order(symbol='A', quantity=10) cannot be sent as the declared " \
        "return type Quote: it is Order, not Quote." in str(failure.value)
    with pytest.raises(HarnessUsageError, match=r"returns=\(1\+2j\) cannot be sent .* complex is not JSON serializable"):
        temporal.mock_activity(place_order, returns=complex(1, 2))
    with pytest.raises(HarnessUsageError, match=r"returns=\{'a'\} .* type str: Expected value to be str, was <class 'list'>"):
        temporal.mock_activity(place_order, returns={"a"})
    with pytest.raises(HarnessUsageError, match="sequence='cheap' cannot be sent as the declared return type Quote"):
        temporal.mock_activity(fetch_quote, sequence=[Quote("A", 1.0), "cheap"])


async def test_behaviour_errors(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="got returns= and raises=: give at most one"):
        temporal.mock_activity(fetch_quote, returns=Quote("A", 1), raises=RuntimeError)
    with pytest.raises(HarnessUsageError, match="raises='boom': expected an exception instance or class"):
        temporal.mock_activity(fetch_quote, raises="boom")  # type: ignore[arg-type]
    with pytest.raises(HarnessUsageError, match=r"sequence=\[\]: expected a non-empty list"):
        temporal.mock_activity(fetch_quote, sequence=[])
    with pytest.raises(HarnessUsageError, match="after=5: expected a datetime.timedelta"):
        temporal.mock_activity(fetch_quote, after=5)  # type: ignore[arg-type]
    with pytest.raises(HarnessUsageError, match=r"returns=<function .*>: it must accept the activity's arguments \(symbol\)"):
        temporal.mock_activity(fetch_quote, returns=lambda: Quote("A", 1))
    with pytest.raises(HarnessUsageError, match=r"side_effect=.*must accept the activity's arguments \(order, dry_run\)"):
        temporal.mock_activity(place_order, side_effect=lambda order: None)
    with pytest.raises(HarnessUsageError, match=r"expect\(times=1, at_least=2\) is invalid"):
        temporal.mock_activity(audit).expect(times=1, at_least=2)
    with pytest.raises(HarnessUsageError, match="got side_effect='log': expected a callable of the arguments"):
        temporal.mock_activity(place_order, side_effect="log")  # type: ignore[arg-type]


async def test_expected_arguments_must_fit_the_signature(temporal: TemporalHarness) -> None:
    by_function = temporal.mock_activity(place_order, returns="r")
    with pytest.raises(HarnessUsageError, match=r"the expected arguments do not fit place_order\(order: "):
        by_function.assert_called_with(Order("A"), quantity=3)
    by_name = temporal.mock_activity("fetch_quote", returns=Quote("A", 1.0))
    with pytest.raises(HarnessUsageError, match="does not know its parameter names yet .* positionally"):
        by_name.assert_called_with(symbol="A")


class Session:
    def __init__(self, connection: object) -> None:
        raise RuntimeError("needs a live connection")


@activity.defn
async def open_session() -> Session:
    raise NotImplementedError


async def test_a_return_type_nothing_can_fake_is_an_error_at_declaration(temporal: TemporalHarness) -> None:
    with pytest.raises(HarnessUsageError, match="Cannot fake a return value of type .*Session.* for activity mock"):
        temporal.mock_activity(open_session)


async def test_duplicate_and_late_declarations_are_errors(temporal: TemporalHarness) -> None:
    temporal.mock_activity(fetch_quote, returns=Quote("D", 500.0))
    with pytest.raises(HarnessUsageError, match="activity 'fetch_quote' is already mocked in this test"):
        temporal.mock_activity(fetch_quote, returns=Quote("D", 1.0))
    await temporal.run(TradeWorkflow.run, "D", activities=ALL)
    with pytest.raises(HarnessUsageError) as failure:
        temporal.mock_activity(audit)
    assert "temporal.mock_activity('audit') was declared while a worker of this test is running" in str(failure.value)
    with pytest.raises(HarnessUsageError, match="is not mocked in this test. Mocked activities: \\['fetch_quote'\\]"):
        temporal.mock(place_order)


async def test_concurrent_calls_are_all_recorded(temporal: TemporalHarness) -> None:
    mock = temporal.mock_activity(audit, returns=None)
    await temporal.run(FanOutWorkflow.run, activities=[audit])
    assert sorted(call.args[0] for call in mock.calls) == ["0", "1", "2", "3", "4"]
    assert sorted(call.index for call in mock.calls) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("through", ["class", "instance"])
async def test_activity_methods_are_mocked_through_the_class_or_an_instance(
    temporal: TemporalHarness, through: str
) -> None:
    desk = Desk("real")
    target = Desk.submit if through == "class" else desk.submit
    mock = temporal.mock_activity(target, returns=lambda order: f"mocked-{order.quantity}-{order.symbol}")
    assert await temporal.run(SubmitWorkflow.run, "IBM", activities=[desk.submit]) == "mocked-3-IBM"
    mock.assert_called_once_with(order=Order("IBM", 3))
    assert isinstance(mock.calls[0].args[0], Order)
