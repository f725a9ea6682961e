"""The one timeline renderer: whole, cut in the middle, or a window around one event.

Users and downstream projects read these texts (failure reports, the nondeterminism
report), so the exact text of a recorded history is pinned here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from pytest_temporal_agents.history import History, load_history_file, render_timeline

PRICER = next((Path(__file__).resolve().parents[1] / "histories_fixture").glob("**/*test_two_symbols/Pricer-1.json"))
QUEUE = "pta-rd-fixture-histories-py-test-two-symbols-3ca7c07e"

WHOLE = f"""\
     1     +0.000s  WorkflowExecutionStarted              Pricer(["MSFT","AAPL"]) on {QUEUE}
     5     +0.033s  ActivityTaskScheduled                 fetch_quote("AAPL") id=1
     6     +0.034s  ActivityTaskStarted                   fetch_quote attempt 1
     7     +0.039s  ActivityTaskCompleted                 fetch_quote -> 104.0
    11     +0.049s  ActivityTaskScheduled                 fetch_quote("MSFT") id=2
    12     +0.049s  ActivityTaskStarted                   fetch_quote attempt 1
    13     +0.052s  ActivityTaskCompleted                 fetch_quote -> 104.0
    17     +0.057s  TimerStarted                          timer 1 for 1h00m
    18      +1h00m  TimerFired                            timer 1
    22      +1h00m  StartChildWorkflowExecutionInitiated  Analyze id=rd-fixture-histories-py-test-two-symbols-3ca7c07e-pricer-1-analyze
    23      +1h00m  ChildWorkflowExecutionStarted
    27      +1h05m  ChildWorkflowExecutionCompleted       Analyze -> "AAPL: buy"
    31      +1h05m  ActivityTaskScheduled                 place_order("AAPL") id=3
    32      +1h05m  ActivityTaskStarted                   place_order attempt 1
    33      +1h05m  ActivityTaskCompleted                 place_order -> "filled AAPL"
    37      +1h05m  WorkflowExecutionCompleted            -> {{"AAPL":104.0,"MSFT":104.0}}"""

HEAD_AND_TAIL = f"""\
     1     +0.000s  WorkflowExecutionStarted    Pricer(["MSFT","AAPL"]) on {QUEUE}
     5     +0.033s  ActivityTaskScheduled       fetch_quote("AAPL") id=1
     ... 12 events not shown ...
    33      +1h05m  ActivityTaskCompleted       place_order -> "filled AAPL"
    37      +1h05m  WorkflowExecutionCompleted  -> {{"AAPL":104.0,"MSFT":104.0}}"""

AROUND_THE_TIMER = f"""\
     1     +0.000s  WorkflowExecutionStarted  Pricer(["MSFT","AAPL"]) on {QUEUE}
     ...
    13     +0.052s  ActivityTaskCompleted     fetch_quote -> 104.0
>>  17     +0.057s  TimerStarted              timer 1 for 1h00m
    18      +1h00m  TimerFired                timer 1
     ... 7 more"""

THE_END = f"""\
     1     +0.000s  WorkflowExecutionStarted    Pricer(["MSFT","AAPL"]) on {QUEUE}
     ...
    32      +1h05m  ActivityTaskStarted         place_order attempt 1
    33      +1h05m  ActivityTaskCompleted       place_order -> "filled AAPL"
    37      +1h05m  WorkflowExecutionCompleted  -> {{"AAPL":104.0,"MSFT":104.0}}"""


@pytest.fixture(scope="module")
def pricer() -> History:
    return load_history_file(PRICER)


def test_the_whole_timeline_hides_workflow_task_bookkeeping(pricer: History) -> None:
    assert pricer.timeline() == WHOLE
    assert render_timeline(pricer.events) == WHOLE
    assert str(pricer).splitlines()[0] == f"workflow {pricer.workflow_id} (Pricer), status completed"
    assert len(pricer.timeline(workflow_tasks=True).splitlines()) == len(pricer.events)


def test_a_long_timeline_keeps_its_first_and_last_events(pricer: History) -> None:
    assert pricer.timeline(max_events=4) == HEAD_AND_TAIL


def test_a_window_marks_the_event_and_keeps_the_start(pricer: History) -> None:
    assert render_timeline(pricer.events, mark=17, around=(1, 1)) == AROUND_THE_TIMER
    assert render_timeline(pricer.events, around=(2, 0)) == THE_END  # no mark: the end


def test_a_marked_workflow_task_event_is_shown_though_bookkeeping_is_not(pricer: History) -> None:
    text = render_timeline(pricer.events, mark=3, around=(0, 0))
    assert text.splitlines()[1].startswith(">>   3") and "WorkflowTaskStarted" in text


def test_a_window_at_the_start_or_past_the_end() -> None:
    events = list(load_history_file(PRICER).events)
    assert render_timeline(events, mark=1, around=(6, 1)).splitlines()[:2] == [
        f'>>   1     +0.000s  WorkflowExecutionStarted  Pricer(["MSFT","AAPL"]) on {QUEUE}',
        '     5     +0.033s  ActivityTaskScheduled     fetch_quote("AAPL") id=1',
    ]
    assert render_timeline(events, mark=999, around=(2, 0)) == THE_END


def test_no_events_to_show() -> None:
    assert render_timeline([]) == "  (no events)"
    bookkeeping = [HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)]
    assert render_timeline(bookkeeping) == render_timeline(bookkeeping, around=(6, 3)) == "  (no events)"
