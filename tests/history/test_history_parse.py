"""The one parser, on histories the reference workflows really recorded and on hand-built ones."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType, StartChildWorkflowExecutionFailedCause, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from pytest_temporal_agents.history import (
    ACTIVITY,
    CHILD,
    History,
    load_history_file,
    parse_events,
    summarize_failure,
)

TESTS = Path(__file__).resolve().parents[1]
RECORDED = sorted(TESTS.glob("histories*/**/*.json"))
E = EventType


def recorded(test: str, name: str) -> History:
    """The history ``name`` that the current code recorded for a test named like ``test``."""
    [path] = [p for p in RECORDED if p.parent.parent.name == "histories" and test in p.parent.name and p.name == name]
    return load_history_file(path)


# -- every recorded history -------------------------------------------------------------------------


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name[-40:]}/{p.name}")
def test_every_start_and_close_is_paired_with_what_it_belongs_to(path: Path) -> None:
    events = load_history_file(path).events
    parsed = parse_events(events)
    count = Counter(e.event_type for e in events)
    assert len(parsed.activities) == count[E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert len(parsed.children) == count[E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]
    assert len(parsed.timers) == count[E.EVENT_TYPE_TIMER_STARTED]
    assert len(parsed.signals) == count[E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    assert len(parsed.markers) == count[E.EVENT_TYPE_MARKER_RECORDED]
    for call in parsed.calls:
        assert call.scheduled_event_id > call.task_started > 0
        if call.started is not None:
            assert call.started.event_id > call.scheduled_event_id
        if call.closed is not None:
            assert call.status in ("completed", "failed", "timed_out", "canceled", "terminated")
            assert call.closed.event_id > (call.started or call.scheduled).event_id
            assert (call.result is not None) == (call.status == "completed")
    closes = sum(count[t] for t in (E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                                    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
                                    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED))  # fmt: skip
    assert sum(call.closed is not None for call in parsed.calls) == closes
    assert [c.scheduled_event_id for c in parsed.calls] == sorted(c.scheduled_event_id for c in parsed.calls)
    assert not parsed.workflow_task_in_flight  # every recorded run ended its last task


def test_a_retried_activity_keeps_its_last_attempt_and_its_result() -> None:
    history = recorded("test_ai_agent_retries_the_reasoner_then_acts_once", "AIAgentWorkflow-1.json")
    reasoner = next(c for c in history.parsed.activities if c.name == "reasoning_agent")
    assert (reasoner.kind, reasoner.status, reasoner.attempt) == (ACTIVITY, "completed", 3)
    assert reasoner.failure is None and reasoner.result is not None and reasoner.result.payloads
    [record] = history.activities("reasoning_agent")
    assert (record.status, record.attempt, record.failure) == ("completed", 3, None)


def test_an_activity_that_never_succeeds_carries_its_failure_and_fails_the_run() -> None:
    history = recorded("test_ai_agent_fails_without_acting", "AIAgentWorkflow-1.json")
    failed = [c for c in history.parsed.activities if c.status == "failed"]
    assert [(c.name, c.attempt) for c in failed] == [("reasoning_agent", 3)]
    assert failed[0].failure is not None and failed[0].closed_time is not None
    [record] = [r for r in history.activities() if r.status == "failed"]
    assert record.failure and record.failure_type
    assert history.status == "failed" and history.parsed.workflow_failure is not None
    assert history.failure() and history.parsed.failures[-1][0].event_id == len(history.events)


def test_children_are_paired_with_their_start_run_and_close() -> None:
    history = recorded("test_the_parent_composes_three_children", "TradeWithChildrenWorkflow-1.json")
    children = history.parsed.children
    assert [(c.kind, c.name, c.status) for c in children] == [
        (CHILD, "OrderValidationWorkflow", "completed"),
        (CHILD, "RiskCheckWorkflow", "completed"),
        (CHILD, "TradeExecutionWorkflow", "completed"),
    ]
    assert all(c.run_id and c.started is not None and c.result is not None for c in children)
    assert [c.workflow_type for c in history.children()] == [c.name for c in children]


def test_a_failed_child_carries_the_failure_it_closed_with() -> None:
    history = recorded("test_a_compensated_saga_ends_the_chain", "ChainedTradingWorkflow-1.json")
    strategy, trade = history.parsed.children
    assert (strategy.status, trade.status) == ("completed", "failed")
    assert trade.failure is not None and "[TradeSagaFailed, non-retryable]" in summarize_failure(trade.failure)


def test_signals_timers_and_a_continue_as_new_run() -> None:
    first = recorded("keeps_the_conversation_across_continue_as_new", "LongRunningAgentWorkflow-1.json")
    assert [s.name for s in first.signals()] == ["send_message"] * 3
    assert first.status == "continued_as_new"
    assert first.run_id == first.events[0].workflow_execution_started_event_attributes.original_execution_run_id
    approval = recorded("test_an_approved_trade_fills_at_the_price", "TradeApprovalWorkflow-1.json")
    [timer] = approval.timers()
    assert timer.status == "canceled" and timer.duration > timedelta(0)
    backoff = recorded("test_waits_back_off_exponentially", "OrderPollingWorkflow-1.json")
    durations = [t.duration for t in backoff.timers()]
    assert [t.status for t in backoff.timers()] == ["fired"] * 5 and durations == sorted(durations)


def test_patch_markers_are_kept_with_their_details() -> None:
    history = recorded("test_a_buy_reserves_places_and_confirms", "TradeSagaWorkflow-1.json")
    [marker] = history.markers()
    assert marker.name == "core_patch" and marker.event_id > 1
    assert b"compensations-before-steps" in next(iter(marker.details.values())).payloads[0].data
    assert history.markers("no-such-marker") == []


def test_each_call_knows_the_workflow_task_that_scheduled_it() -> None:
    history = load_history_file(next(TESTS.glob("histories_fixture/**/*test_two_symbols/Pricer-1.json")))
    calls = history.parsed.calls
    assert [(c.kind, c.name) for c in calls] == [
        (ACTIVITY, "fetch_quote"), (ACTIVITY, "fetch_quote"), (CHILD, "Analyze"), (ACTIVITY, "place_order"),
    ]  # fmt: skip
    assert calls[0].task_started == 3
    for call in calls:
        assert history.parsed.event(call.task_started).event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED  # type: ignore[union-attr]


# -- what the recorded histories lack ---------------------------------------------------------------------

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _json(text: str) -> Payloads:
    return Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=text.encode())])


class Built:
    """Events appended one by one, each a second after the last."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    def add(self, event_type: EventType.ValueType, field: str) -> tuple[int, object]:
        event = HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)
        event.event_time.FromDatetime(START + timedelta(seconds=len(self.events)))
        attrs = getattr(event, field)
        attrs.SetInParent()
        self.events.append(event)
        return event.event_id, attrs


def _unusual_history() -> list[HistoryEvent]:
    b = Built()
    _, started = b.add(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, "workflow_execution_started_event_attributes")
    started.workflow_type.name = "Unusual"  # type: ignore[attr-defined]
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes")
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, "workflow_task_started_event_attributes")
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, "workflow_task_completed_event_attributes")
    slow, scheduled = b.add(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, "activity_task_scheduled_event_attributes")
    scheduled.activity_type.name = "slow"  # type: ignore[attr-defined]
    kid, initiated = b.add(
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, "start_child_workflow_execution_initiated_event_attributes"
    )
    initiated.workflow_type.name, initiated.workflow_id = "Kid", "kid-1"  # type: ignore[attr-defined]
    _, timed_out = b.add(E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, "activity_task_timed_out_event_attributes")
    timed_out.scheduled_event_id = slow  # type: ignore[attr-defined]
    timed_out.failure.timeout_failure_info.timeout_type = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE  # type: ignore[attr-defined]
    timed_out.failure.message = "activity timeout"  # type: ignore[attr-defined]
    _, start_failed = b.add(
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, "start_child_workflow_execution_failed_event_attributes"
    )
    start_failed.initiated_event_id = kid  # type: ignore[attr-defined]
    start_failed.cause = (  # type: ignore[attr-defined]
        StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
    )
    for update_id, name, outcome in (("u1", "set_limit", "done"), ("u2", "set_limit", None), ("u3", "other", "x")):
        accepted_id, accepted = b.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "workflow_execution_update_accepted_event_attributes"
        )
        accepted.accepted_request.meta.update_id = update_id  # type: ignore[attr-defined]
        accepted.accepted_request.input.name = name  # type: ignore[attr-defined]
        accepted.accepted_request.input.args.CopyFrom(_json("5"))  # type: ignore[attr-defined]
        if update_id == "u3":
            continue  # accepted, not completed yet
        _, completed = b.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, "workflow_execution_update_completed_event_attributes"
        )
        completed.accepted_event_id = accepted_id  # type: ignore[attr-defined]
        if outcome is None:
            completed.outcome.failure.message = "too high"  # type: ignore[attr-defined]
            completed.outcome.failure.application_failure_info.type = "Limit"  # type: ignore[attr-defined]
        else:
            completed.outcome.success.CopyFrom(_json(f'"{outcome}"'))  # type: ignore[attr-defined]
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes")
    return b.events


def test_timeouts_start_failures_and_updates() -> None:
    history = History(WorkflowHistory("wf", _unusual_history()))
    slow, kid = history.parsed.calls
    assert (slow.status, slow.closed_event_id) == ("timed_out", 7)
    [record] = history.activities()
    assert (record.status, record.failure, record.failure_type) == (
        "timed_out", "activity timeout [START_TO_CLOSE]", "TIMEOUT_TYPE_START_TO_CLOSE",
    )  # fmt: skip
    assert (kid.status, kid.start_failed_cause) == ("start_failed", "workflow_already_exists")
    assert [(c.workflow_id, c.status) for c in history.children()] == [("kid-1", "start_failed")]
    done, refused, pending = history.updates()
    assert (done.update_id, done.status, done.input, done.result) == ("u1", "completed", "5", '"done"')
    assert (refused.status, refused.failure) == ("failed", "too high [Limit]")
    assert (pending.name, pending.status, pending.result) == ("other", "accepted", None)
    assert [u.update_id for u in history.updates("set_limit")] == ["u1", "u2"]
    assert history.parsed.workflow_task_in_flight and history.status == "running"


def test_events_are_told_apart_by_their_type_alone() -> None:
    """The settle wait reads workflow tasks from events that may carry no attributes."""
    types = [E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]
    bare = [HistoryEvent(event_id=n, event_type=t) for n, t in enumerate(types, 1)]
    assert parse_events(bare).workflow_task_in_flight
    ended = [*bare, HistoryEvent(event_id=3, event_type=E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)]
    assert not parse_events(ended).workflow_task_in_flight


def test_no_events_parse_to_nothing() -> None:
    parsed = parse_events([])
    assert (parsed.calls, parsed.started, parsed.status, parsed.event(1)) == ([], None, "running", None)
    history = History(WorkflowHistory("empty", []))
    assert (history.workflow_type, history.run_id, history.timeline()) == ("<unknown>", "", "  (no events)")
