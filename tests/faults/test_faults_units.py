"""The fault vocabulary, decisions, attempt records and strategies, without a server."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, find, given, settings
from temporalio import activity
from temporalio.exceptions import ApplicationError

from pytest_temporal_agents import HarnessUsageError
from pytest_temporal_agents.faults import (
    EVERY_ATTEMPT,
    FaultPlan,
    cancellation,
    error_of_type,
    heartbeat_timeout,
    non_retryable_error,
    retryable_error,
    schedule_to_close_timeout,
    start_to_close_timeout,
    worker_crash,
)
from pytest_temporal_agents.faults._attempts import (
    FAILED,
    SUCCEEDED,
    TIMED_OUT,
    AttemptLog,
    AttemptRecord,
    check_attempts,
)
from pytest_temporal_agents.faults._state import CANCEL_HEARTBEAT_TIMEOUT, CallOptions, FaultState
from pytest_temporal_agents.harness._pytest_support import relax_for_temporal
from pytest_temporal_agents.strategies import fault_plans


@activity.defn
async def fetch_market_data(symbol: str) -> str:
    return symbol


@activity.defn(name="place-order")
async def place_order(symbol: str) -> str:
    return symbol


# -- vocabulary ------------------------------------------------------------------------------
def test_faults_name_activities_by_function_or_registered_name() -> None:
    assert retryable_error(fetch_market_data).activity == "fetch_market_data"
    assert retryable_error(place_order).activity == "place-order"
    assert retryable_error("anything").activity == "anything"


def test_reprs_are_the_code_that_builds_the_fault() -> None:
    plan = FaultPlan(
        retryable_error(fetch_market_data, attempts=[2, 1], type="ExchangeUnavailable"),
        non_retryable_error("place-order"),
        error_of_type("place-order", "InsufficientFunds"),
        start_to_close_timeout("a", shortened_to=0.5),
        heartbeat_timeout("a", attempts=EVERY_ATTEMPT),
        schedule_to_close_timeout("a"),
        cancellation("a"),
        worker_crash(after="a"),
        worker_crash(after="a", attempts=2),
    )
    assert repr(plan) == (
        "FaultPlan(retryable_error('fetch_market_data', attempts=[1, 2], type='ExchangeUnavailable'), "
        "non_retryable_error('place-order'), error_of_type('place-order', type='InsufficientFunds'), "
        "start_to_close_timeout('a', shortened_to=datetime.timedelta(microseconds=500000)), "
        "heartbeat_timeout('a', attempts=EVERY_ATTEMPT), schedule_to_close_timeout('a'), cancellation('a'), "
        "worker_crash(after='a'), worker_crash(after='a', attempts=[2]))"
    )
    assert plan.kinds[:3] == ["retryable_error", "non_retryable_error", "error_of_type"]
    assert plan[1:3] == FaultPlan(non_retryable_error("place-order"), error_of_type("place-order", "InsufficientFunds"))


def test_a_plan_flattens_lists_and_plans_and_refuses_anything_else() -> None:
    inner = FaultPlan(retryable_error("a"))
    assert list(FaultPlan([inner, cancellation("b")])) == [retryable_error("a"), cancellation("b")]
    with pytest.raises(HarnessUsageError, match=r"temporal.inject\(\) got 'a': expected faults"):
        FaultPlan("a")  # type: ignore[arg-type]


@pytest.mark.parametrize("attempts", [0, [], [0, 1], "1", [1.5], [True]])
def test_bad_attempts_say_what_attempts_are(attempts: object) -> None:
    with pytest.raises(HarnessUsageError) as caught:
        retryable_error("a", attempts=attempts)  # type: ignore[arg-type]
    assert str(caught.value).splitlines() == [
        f"retryable_error(..., attempts={attempts!r}) is invalid: attempts are attempt numbers counted from 1",
        "(the first attempt), such as attempts=[1] or attempts=[1, 2], or EVERY_ATTEMPT.",
    ]


@pytest.mark.parametrize("value", [0, -1, timedelta(minutes=2), "fast"])
def test_bad_shortened_timeouts_are_refused(value: object) -> None:
    with pytest.raises(HarnessUsageError, match=r"heartbeat_timeout\(\.\.\., shortened_to=.*\) is invalid"):
        heartbeat_timeout("a", shortened_to=value)  # type: ignore[arg-type]


def test_bad_where_and_type_are_refused() -> None:
    with pytest.raises(HarnessUsageError, match=r"where=lambda request: request.symbol"):
        cancellation("a", where="TSLA")  # type: ignore[arg-type]
    with pytest.raises(HarnessUsageError, match=r"non_retryable_error_types"):
        error_of_type("a", "")


def test_a_function_that_is_not_an_activity_is_refused() -> None:
    with pytest.raises(HarnessUsageError, match="is not a Temporal activity"):
        retryable_error(print)


def test_every_attempt_contains_every_attempt_number() -> None:
    assert 1 in EVERY_ATTEMPT and 99 in EVERY_ATTEMPT and 0 not in EVERY_ATTEMPT
    assert repr(EVERY_ATTEMPT) == "EVERY_ATTEMPT"


# -- decisions -------------------------------------------------------------------------------
def test_the_first_fault_that_selects_an_attempt_decides_it() -> None:
    first = retryable_error("a", attempts=[1, 2])
    second = non_retryable_error("a", attempts=[2, 3])
    state = FaultState(faults=[first, second, worker_crash(after="a")])
    assert state.fault_for("a", 1, ()) is first
    assert state.fault_for("a", 2, ()) is first
    assert state.fault_for("a", 3, ()) is second
    assert state.fault_for("a", 4, ()) is None
    assert state.fault_for("b", 1, ()) is None


def test_where_narrows_a_fault_and_a_raising_predicate_is_a_problem() -> None:
    only_tsla = retryable_error("a", where=lambda symbol: symbol == "TSLA")
    broken = retryable_error("b", where=lambda symbol: symbol.nope)
    state = FaultState(faults=[only_tsla, broken])
    assert state.fault_for("a", 1, ("TSLA",)) is only_tsla
    assert state.fault_for("a", 1, ("AAPL",)) is None
    assert state.fault_for("b", 1, ("AAPL",)) is None
    assert state.problems == [
        ("retryable_error('b', where=<lambda>): its where= predicate raised "
        "AttributeError(\"'str' object has no attribute 'nope'\") for the arguments ('AAPL')")
    ]


def test_a_crash_fires_once_after_the_first_success_unless_attempts_are_named() -> None:
    after_success = worker_crash(after="a")
    after_second = worker_crash(after="b", attempts=[2])
    state = FaultState(faults=[after_success, after_second])
    assert state.crash_after("a", 1, (), succeeded=False) is None
    assert state.crash_after("a", 2, (), succeeded=True) is after_success
    assert state.crash_after("a", 3, (), succeeded=True) is None
    assert state.crash_after("b", 1, (), succeeded=False) is None
    assert state.crash_after("b", 2, (), succeeded=False) is after_second


def test_timeout_and_cancellation_faults_shorten_what_the_call_is_scheduled_with() -> None:
    state = FaultState(
        faults=[
            start_to_close_timeout("a", attempts=[2], shortened_to=0.2),
            heartbeat_timeout("a", shortened_to=0.3),
            schedule_to_close_timeout("b"),
            cancellation("c"),
        ]
    )
    scheduled = CallOptions(timedelta(seconds=180), None, timedelta(seconds=0.1))
    assert state.call_options("a", (), scheduled) == CallOptions(
        timedelta(seconds=0.2), timedelta(seconds=0.3), timedelta(seconds=0.1)
    )
    assert state.call_options("b", (), CallOptions(timedelta(seconds=180))).schedule_to_close == timedelta(
        milliseconds=250
    )
    cancelled = state.call_options("c", (), CallOptions(timedelta(seconds=180)))
    assert cancelled.heartbeat == CANCEL_HEARTBEAT_TIMEOUT and cancelled.wait_for_cancellation
    assert state.call_options("d", (), scheduled) == scheduled
    assert state.keeps_alive("a", ()) and not state.keeps_alive("b", ())
    assert state.shortened_start_to_close("a", ()) == timedelta(seconds=0.2)


# -- attempt records and assert_attempts ------------------------------------------------------
def _record(attempt: int, outcome: str, *, activity_id: str = "1", workflow_id: str = "wf", **more: object) -> AttemptRecord:
    return AttemptRecord(
        activity="fetch", attempt=attempt, outcome=outcome, workflow_id=workflow_id, run_id="r",
        activity_id=activity_id, **more,  # type: ignore[arg-type]
    )


def _log(*records: AttemptRecord) -> AttemptLog:
    log = AttemptLog()
    for record in records:
        log.add(record)
    return log


def test_records_describe_outcome_error_and_fault() -> None:
    failed = _record(1, FAILED, fault=retryable_error("fetch"))
    failed.finish(FAILED, ApplicationError("boom", type="Boom", non_retryable=True))
    assert failed.describe() == "attempt 1: failed: boom [Boom, non-retryable] (injected retryable_error('fetch'))"
    timed_out = _record(2, TIMED_OUT, error="START_TO_CLOSE timeout after 0.25 s")
    assert timed_out.describe() == "attempt 2: timed out: START_TO_CLOSE timeout after 0.25 s"
    other = _record(3, FAILED)
    other.finish(FAILED, KeyError("x"))
    assert other.describe() == "attempt 3: failed: 'x' [KeyError]"


def test_assert_attempts_passes_and_returns_the_call() -> None:
    log = _log(_record(1, FAILED), _record(2, TIMED_OUT), _record(3, SUCCEEDED))
    assert [r.attempt for r in check_attempts(log, "fetch", failed=[1, 2], succeeded=3)] == [1, 2, 3]
    check_attempts(log, "fetch", failed=[1, 2])
    check_attempts(log, "fetch", succeeded=3)


def test_assert_attempts_lists_every_attempt_when_they_differ() -> None:
    log = _log(_record(1, FAILED, error="boom [Boom]", fault=retryable_error("fetch")), _record(2, SUCCEEDED))
    with pytest.raises(AssertionError) as caught:
        check_attempts(log, "fetch", failed=[1, 2], succeeded=3)
    assert str(caught.value).splitlines() == [
        "Attempts of 'fetch' (workflow 'wf', activity id 1) are not what the test expects.",
        "  expected: failed [1, 2], succeeded 3",
        "  actual:   failed [1], succeeded 2",
        "  - attempt 1: failed: boom [Boom] (injected retryable_error('fetch'))",
        "  - attempt 2: succeeded",
    ]
    with pytest.raises(AssertionError, match="expected: no attempt succeeded"):
        check_attempts(log, "fetch", succeeded=None)


def test_assert_attempts_on_an_activity_that_never_ran() -> None:
    with pytest.raises(AssertionError) as caught:
        check_attempts(_log(_record(1, SUCCEEDED)), "place")
    assert str(caught.value).splitlines() == [
        "'place' never ran in this test, so its attempts cannot be checked.",
        "Activities that ran: fetch.",
    ]


def test_several_calls_must_be_told_apart() -> None:
    log = _log(
        _record(1, SUCCEEDED, activity_id="1", args=("AAPL",)),
        _record(1, FAILED, activity_id="2", args=("TSLA",)),
        _record(2, SUCCEEDED, activity_id="2", args=("TSLA",)),
    )
    with pytest.raises(HarnessUsageError) as caught:
        check_attempts(log, "fetch", succeeded=1)
    assert str(caught.value).splitlines() == [
        "temporal.assert_attempts('fetch', ...) is ambiguous: the activity was called 2 times.",
        "  1. workflow 'wf', activity id 1, args ('AAPL')",
        "  2. workflow 'wf', activity id 2, args ('TSLA')",
        "Pick one with where=<predicate of the arguments>, workflow=<handle or id> and/or",
        "call=<1-based number in the order above>.",
    ]
    check_attempts(log, "fetch", failed=[1], succeeded=2, call=2)
    check_attempts(log, "fetch", failed=[1], succeeded=2, where=lambda symbol: symbol == "TSLA")
    with pytest.raises(AssertionError, match="'fetch' never ran in this test with arguments that where= accepts"):
        check_attempts(log, "fetch", where=lambda symbol: symbol == "NVDA")
    with pytest.raises(HarnessUsageError, match="call= counts from 1"):
        check_attempts(log, "fetch", call=3)


# -- strategies ------------------------------------------------------------------------------
def test_fault_plans_shrink_to_the_smallest_plan_that_matters() -> None:
    plans = fault_plans(activities=[fetch_market_data, place_order], max_faults=4)
    smallest = find(
        plans,
        lambda plan: any(f.kind == "non_retryable_error" and f.activity == "place-order" for f in plan),
        settings=settings(database=None, max_examples=2000),
    )
    assert smallest == FaultPlan(non_retryable_error("place-order"))


@settings(max_examples=50, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=fault_plans(
        activities=["a", "b"],
        max_faults=3,
        kinds=[retryable_error, "heartbeat_timeout", "error_of_type", "cancellation", "schedule_to_close_timeout"],
        max_attempt=2,
        error_types=["Boom"],
    )
)
def test_fault_plans_draw_only_what_they_are_asked_for(plan: FaultPlan) -> None:
    assert len(plan) <= 3
    for fault in plan:
        assert fault.activity in ("a", "b")
        assert fault.kind in {"retryable_error", "heartbeat_timeout", "error_of_type", "cancellation",
                              "schedule_to_close_timeout"}
        if isinstance(fault.attempts, tuple):
            assert set(fault.attempts) <= {1, 2}
    assert eval(repr(plan), vars(__import__("pytest_temporal_agents.faults", fromlist=["*"]))) == plan


def test_fault_plans_refuse_what_cannot_be_drawn() -> None:
    with pytest.raises(HarnessUsageError, match=r"needs at least one activity"):
        fault_plans(activities=[])
    with pytest.raises(HarnessUsageError, match=r"got 'explode', which is not a fault kind.\nValid kinds: retryable_error"):
        fault_plans(activities=["a"], kinds=["explode"])
    with pytest.raises(HarnessUsageError, match=r"needs error_types"):
        fault_plans(activities=["a"], kinds=["error_of_type"])
    with pytest.raises(HarnessUsageError, match=r"max_faults=-1, max_attempt=3\) is invalid"):
        fault_plans(activities=["a"], max_faults=-1)


# -- hypothesis settings for tests that take `temporal` ------------------------------------------
def _collected(test: object, fixtures: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(obj=test, fixturenames=fixtures)


def test_given_tests_that_take_temporal_skip_the_fixture_health_check_and_deadline() -> None:
    @given(plan=fault_plans(activities=["a"]))
    def takes_temporal(temporal: object, plan: FaultPlan) -> None: ...

    @settings(deadline=timedelta(seconds=5))
    @given(plan=fault_plans(activities=["a"]))
    def own_deadline(temporal: object, plan: FaultPlan) -> None: ...

    @given(plan=fault_plans(activities=["a"]))
    def no_temporal(plan: FaultPlan) -> None: ...

    assert relax_for_temporal(_collected(takes_temporal, ("temporal", "request")))
    relaxed = takes_temporal._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert HealthCheck.function_scoped_fixture in relaxed.suppress_health_check
    assert relaxed.deadline is None
    assert relax_for_temporal(_collected(own_deadline, ("temporal",)))
    assert own_deadline._hypothesis_internal_use_settings.deadline == timedelta(seconds=5)  # type: ignore[attr-defined]
    assert not relax_for_temporal(_collected(no_temporal, ("request",)))
    assert not relax_for_temporal(_collected(lambda temporal: None, ("temporal",)))
