"""The saga analysis on hand-built histories: every rule, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from pytest_temporal_agents import HarnessUsageError
from pytest_temporal_agents.saga._feature import (
    compensated_problems,
    completed_problems,
    invariant_problems,
    through_problems,
)
from pytest_temporal_agents.saga._analysis import SagaAnalysis, SagaSteps, analyze
from pytest_temporal_agents.saga._failures import saga_failure_points
from pytest_temporal_agents.saga._idempotency import difference
from pytest_temporal_agents.saga._model import parse_executions, step_ref
from pytest_temporal_agents.saga._report import render_saga

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
STEPS = {"reserve": "release", "place": "cancel", "confirm": None}


class Events:
    """A history written as it happens: schedule, start and close activities and children."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    def _add(self, event_type: int, field: str, **attrs: Any) -> int:
        event = HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)  # type: ignore[arg-type]
        event.event_time.FromDatetime(START + timedelta(seconds=len(self.events)))
        target = getattr(event, field)
        for key, value in attrs.items():
            if key in ("activity_type", "workflow_type"):
                getattr(target, key).name = value
            elif key == "failure":
                target.failure.message = value
                target.failure.application_failure_info.type = "Boom"
            else:
                setattr(target, key, value)
        self.events.append(event)
        return event.event_id

    def schedule(self, name: str) -> int:
        scheduled = self._add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            "activity_task_scheduled_event_attributes",
            activity_type=name,
            activity_id=str(len(self.events) + 1),
        )
        return scheduled

    def close(self, scheduled: int, status: str = "completed", attempt: int = 1) -> None:
        self._add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            "activity_task_started_event_attributes",
            scheduled_event_id=scheduled,
            attempt=attempt,
        )
        if status == "completed":
            self._add(
                EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                "activity_task_completed_event_attributes",
                scheduled_event_id=scheduled,
            )
        else:
            self._add(
                EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                "activity_task_failed_event_attributes",
                scheduled_event_id=scheduled,
                failure="it broke",
            )

    def run(self, name: str, status: str = "completed", attempt: int = 1) -> None:
        self.close(self.schedule(name), status, attempt)

    def child(self, name: str, status: str = "completed") -> None:
        initiated = self._add(
            EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            "start_child_workflow_execution_initiated_event_attributes",
            workflow_type=name,
            workflow_id=f"{name}-child",
        )
        field = (
            "child_workflow_execution_completed_event_attributes"
            if status == "completed"
            else "child_workflow_execution_failed_event_attributes"
        )
        event_type = (
            EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED
            if status == "completed"
            else EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED
        )
        extra = {} if status == "completed" else {"failure": "child broke"}
        self._add(event_type, field, initiated_event_id=initiated, workflow_type=name, **extra)

    def analysis(self, steps: Any = STEPS, **options: Any) -> SagaAnalysis:
        declaration = SagaSteps(steps, **options)
        return analyze(declaration, parse_executions(self.events), workflow_id="wf", start_time=START)


def failed_at_confirm() -> Events:
    h = Events()
    h.run("reserve")
    h.run("place")
    h.run("confirm", "failed")
    return h


def test_a_saga_undone_in_reverse_passes_and_its_table_pairs_each_step_with_its_undo() -> None:
    h = failed_at_confirm()
    h.run("cancel")
    h.run("release")
    analysis = h.analysis()
    assert compensated_problems(analysis) == []
    assert through_problems(analysis, "place") == []
    table = render_saga(analysis).splitlines()
    assert table[0].split() == [
        "forward", "step", "events", "at", "outcome", "|", "compensation", "events", "at", "outcome"
    ]
    assert table[1].split()[:4] == ["reserve", "#1-#3", "+2.000s", "completed"]
    assert table[1].split("|")[1].split() == ["release", "#13-#15", "+14s", "completed"]
    assert table[2].split("|")[1].split()[:2] == ["cancel", "#10-#12"]
    assert "(no compensation declared)" in table[3] and "failed: it broke [Boom]" in table[3]


def test_compensations_out_of_order_are_reported_with_their_event_ids() -> None:
    h = failed_at_confirm()
    h.run("release")
    h.run("cancel")
    assert compensated_problems(h.analysis()) == [
        ("release (undoing reserve, events #10-#12) started before cancel (undoing place, which ran "
        "after reserve) completed (event #15): compensations must run in reverse order")
    ]


def test_a_step_left_undone_a_double_undo_and_an_undo_of_what_never_completed() -> None:
    h = failed_at_confirm()
    h.run("cancel")
    assert compensated_problems(h.analysis()) == [
        "reserve completed (events #1-#3) but was never compensated: release did not run for it"
    ]

    h = failed_at_confirm()
    h.run("cancel")
    h.run("cancel")
    h.run("release")
    [problem] = compensated_problems(h.analysis())
    assert problem.startswith("cancel ran again (events #13-#15): place was already compensated (events #10-#12)")

    h = Events()
    h.run("reserve")
    h.run("place", "failed")
    h.run("cancel")
    h.run("release")
    [problem] = compensated_problems(h.analysis())
    assert problem.startswith(
        "cancel ran (events #7-#9, completed) to undo place, which never completed (failed: it broke"
    )
    assert "declare failed_steps='compensated' or 'either'" in problem
    for mode in ("compensated", "either"):
        assert compensated_problems(h.analysis(failed_steps=mode)) == []


def test_failed_steps_compensated_requires_the_undo_of_the_failed_step() -> None:
    h = Events()
    h.run("reserve")
    h.run("place", "failed")
    h.run("release")
    assert compensated_problems(h.analysis(failed_steps="compensated")) == [
        "place failed (failed: it broke [Boom]) (events #4-#6) but was never compensated: cancel did not run for it"
    ]
    assert compensated_problems(h.analysis(failed_steps="either")) == []


def test_a_compensation_retried_by_the_server_counts_once_and_one_that_never_succeeds_is_reported() -> None:
    h = failed_at_confirm()
    h.run("cancel", attempt=4)
    h.run("release")
    analysis = h.analysis()
    assert compensated_problems(analysis) == []
    assert "completed at attempt 4" in render_saga(analysis)

    # The workflow tries again itself (a new activity): still one compensation.
    h = failed_at_confirm()
    h.run("cancel", "failed", attempt=3)
    h.run("cancel")
    h.run("release")
    analysis = h.analysis()
    assert compensated_problems(analysis) == []
    [place] = [r for r in analysis.runs if r.name == "place"]
    assert [c.status for c in place.compensations] == ["failed", "completed"]

    h = failed_at_confirm()
    h.run("cancel", "failed", attempt=3)
    h.run("cancel", "failed", attempt=3)
    assert compensated_problems(h.analysis()) == [
        "reserve completed (events #1-#3) but was never compensated: release did not run for it",
        ("cancel never succeeded in undoing place (completed, events #4-#6): failed at attempt 3: "
        "it broke [Boom] (events #13-#15), after 2 executions"),
    ]


def overlapping() -> Events:
    """reserve and place run at the same time, then confirm fails."""
    h = Events()
    reserve, place = h.schedule("reserve"), h.schedule("place")
    h.close(place)
    h.close(reserve)
    h.run("confirm", "failed")
    return h


def test_steps_that_ran_in_parallel_may_be_undone_in_any_order() -> None:
    for first, second in (("release", "cancel"), ("cancel", "release")):
        h = overlapping()
        h.run(first)
        h.run(second)
        assert compensated_problems(h.analysis()) == []


def test_declared_dependencies_replace_the_inferred_order() -> None:
    # Sequential in the history, but declared independent: any order.
    h = failed_at_confirm()
    h.run("release")
    h.run("cancel")
    assert compensated_problems(h.analysis(depends_on={"confirm": ["reserve", "place"]})) == []
    # Parallel in the history, but place is declared to depend on reserve: forward order broken.
    h = overlapping()
    h.run("cancel")
    h.run("release")
    assert compensated_problems(h.analysis(depends_on={"place": "reserve"})) == [
        "place was scheduled (event #2) before reserve, which it depends on, had completed"
    ]


def test_a_list_of_pairs_is_a_chain() -> None:
    chain = [("reserve", "release"), ("place", "cancel"), ("confirm", None)]
    declaration = SagaSteps(chain)
    reserve, place, confirm = declaration.steps
    assert declaration.depends(confirm, reserve) and declaration.depends(place, reserve)
    assert not declaration.depends(reserve, place)
    h = overlapping()
    h.run("cancel")
    h.run("release")
    assert "place was scheduled (event #2) before reserve" in compensated_problems(h.analysis(chain))[0]


def test_child_workflows_as_steps_and_compensations() -> None:
    h = Events()
    h.child("ReserveWorkflow")
    h.run("place", "failed")
    h.child("ReleaseWorkflow")
    analysis = h.analysis({"ReserveWorkflow": "ReleaseWorkflow", "place": "cancel"})
    assert compensated_problems(analysis) == []
    [reserve] = [r for r in analysis.runs if r.name == "ReserveWorkflow"]
    assert reserve.execution is not None and reserve.execution.kind == "workflow"
    assert reserve.compensated_by is not None and reserve.compensated_by.id == "ReleaseWorkflow-child"

    h = Events()
    h.child("ReserveWorkflow")
    h.run("place", "failed")
    h.child("ReleaseWorkflow", "failed")
    [problem] = compensated_problems(h.analysis({"ReserveWorkflow": "ReleaseWorkflow", "place": "cancel"}))
    assert problem.startswith("ReleaseWorkflow never succeeded in undoing ReserveWorkflow")
    assert "failed: child broke" in problem


def test_a_step_run_twice_is_undone_last_first() -> None:
    h = Events()
    h.run("reserve")  # for AAPL
    h.run("reserve")  # for MSFT
    h.run("place", "failed")
    h.run("release")
    h.run("release")
    analysis = h.analysis()
    assert compensated_problems(analysis) == []
    first, second = [r for r in analysis.runs if r.name == "reserve"]
    assert first.compensated_by is not None and second.compensated_by is not None
    assert second.compensated_by.scheduled_event_id < first.compensated_by.scheduled_event_id


def test_assert_completed_problems() -> None:
    h = Events()
    h.run("reserve")
    h.run("place")
    h.run("confirm")
    assert completed_problems(h.analysis()) == []
    h = failed_at_confirm()
    h.run("cancel")
    assert completed_problems(h.analysis()) == [
        "confirm did not complete: failed: it broke [Boom] (events #7-#9)",
        "cancel ran (events #10-#12, completed) to undo place: a completed saga undoes nothing",
    ]
    h = Events()
    h.run("reserve")
    assert completed_problems(h.analysis())[:2] == ["place never ran", "confirm never ran"]


def test_through_names_the_last_step_before_the_failure() -> None:
    h = failed_at_confirm()
    analysis = h.analysis()
    assert through_problems(analysis, "place") == []
    assert through_problems(analysis, "reserve") == [
        "place completed, but the saga should have failed before it (through=reserve)"
    ]
    assert through_problems(analysis, "confirm") == [
        "confirm should have completed before the saga failed (through=confirm), but failed: it broke [Boom]"
    ]
    with pytest.raises(HarnessUsageError, match=r"(?s)names 'nope', which is not a forward step.*'reserve', 'place' and 'confirm'"):
        through_problems(analysis, "nope")


def test_a_saga_failure_point_as_through() -> None:
    points = {(p.step, p.kind): p for p in saga_failure_points(["reserve", "place", "confirm"])}
    analysis = failed_at_confirm().analysis()
    assert through_problems(analysis, points["confirm", "non_retryable_error"]) == []
    assert through_problems(analysis, points["place", "retryable_error"]) == [
        ("place completed, so the failure at place did not fail it: does the injected "
        "retryable_error exhaust its retry policy?")
    ]


def test_saga_failure_points_cover_each_step_by_each_kind() -> None:
    points = saga_failure_points(["reserve", "place"], after_running=(False, True))
    assert len(points) == 2 * 3 * 2
    by = {(p.step, p.kind, p.after_running): p for p in points}
    assert repr(by["place", "retryable_error", True]) == (
        "SagaFailure(at='place', kind='retryable_error', after_running=True)"
    )
    assert repr(by["place", "retryable_error", True].fault) == (
        "retryable_error('place', attempts=EVERY_ATTEMPT, after_running=True)"
    )
    assert by["reserve", "non_retryable_error", False].fault.attempts == (1,)
    assert by["place", "start_to_close_timeout", False].completed_before == ("reserve",)
    assert by["reserve", "start_to_close_timeout", False].through is None
    assert len(by["reserve", "non_retryable_error", False].plan) == 1
    custom = saga_failure_points(["reserve"], [lambda step: by["place", "retryable_error", False].fault])
    assert [p.kind for p in custom] == ["<lambda>"]
    for kind, message in [
        ("worker_crash", "a worker crash does not fail a step"),
        ("error_of_type", "error_of_type needs a type: pass a function"),
        ("explode", "not a fault kind"),
    ]:
        with pytest.raises(HarnessUsageError, match=message):
            saga_failure_points(["reserve"], [kind])
    with pytest.raises(HarnessUsageError, match="list the saga's forward steps in the order"):
        saga_failure_points([])


@pytest.mark.parametrize(
    ("steps", "options", "message"),
    [
        ({}, {}, r"give a mapping of each forward step to its\ncompensation"),
        ("reserve", {}, "give a mapping"),
        ([("reserve",)], {}, "give a mapping"),
        ({"a": "b", "b": None}, {}, "declares 'b' as a forward step and as a compensation"),
        ([("a", "x"), ("a", "y")], {}, "declares the forward step 'a' twice"),
        ({"a": None}, {"depends_on": {"a": "zz"}}, r"(?s)depends_on\['a'\]\) names 'zz'.*Forward steps: 'a'"),
        ({"a": None, "b": None}, {"depends_on": {"a": "b", "b": "a"}}, "has a cycle through"),
        ({"a": None}, {"failed_steps": "never"}, r"(?s)failed_steps='never'.*'uncompensated', 'compensated', 'either'"),
        ({42: None}, {}, "42 cannot name a saga step"),
    ],
)
def test_malformed_declarations_say_how_to_write_them(steps: Any, options: Any, message: str) -> None:
    with pytest.raises(HarnessUsageError, match=message):
        SagaSteps(steps, **options)


def test_steps_are_named_by_activity_workflow_class_or_string() -> None:
    from saga_workflows import Agency, CancelFlightWorkflow

    assert step_ref(Agency.cancel_flight) == step_ref(Agency().cancel_flight)
    assert (step_ref(Agency.cancel_flight).name, step_ref(Agency.cancel_flight).kind) == ("cancel_flight", "activity")
    assert (step_ref(CancelFlightWorkflow).name, step_ref(CancelFlightWorkflow).kind) == (
        "CancelFlightWorkflow",
        "workflow",
    )
    assert step_ref(CancelFlightWorkflow.run) == step_ref(CancelFlightWorkflow)
    assert step_ref("anything").kind == "either"


async def test_invariants_fail_by_assertion_or_false() -> None:
    def broken() -> None:
        raise AssertionError("cash is 5\nnot 10")

    async def fine() -> bool:
        return True

    assert await invariant_problems(broken) == ["the state invariant failed: cash is 5\n  not 10"]
    assert await invariant_problems(lambda: False) == ["the state invariant <lambda> returned False"]
    assert await invariant_problems(fine) == []
    assert await invariant_problems(lambda: None) == []


def test_difference_names_the_fields_that_changed() -> None:
    from saga_workflows import AgencyState

    before = AgencyState((), (), 100.0, 0.0)
    after = AgencyState((), (), 100.0, 100.0)
    assert difference(before, after) == "refunded 0.0 -> 100.0"
    assert difference({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == "['b'] 2 -> 3, ['c'] <missing> -> 4"
    assert difference(1, 2) == "1 -> 2"


def test_fault_functions_stand_for_their_kind() -> None:
    from pytest_temporal_agents import faults

    [point] = saga_failure_points(["reserve"], [faults.start_to_close_timeout], shortened_to=timedelta(milliseconds=50))
    assert point.kind == "start_to_close_timeout"
    assert point.fault.shortened_to == timedelta(milliseconds=50) and point.fault.attempts is faults.EVERY_ATTEMPT
    with pytest.raises(HarnessUsageError, match="a worker crash does not fail a step"):
        saga_failure_points(["reserve"], [faults.worker_crash])
