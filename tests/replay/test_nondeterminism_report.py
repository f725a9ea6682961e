"""The nondeterminism report's logic, without a server: parsing, alignment, scanning, rendering."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from docs_support import ROOT
from replay_support import HISTORIES
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.workflow import NondeterminismError

from pytest_temporal_agents.history import History, load_history_file
from pytest_temporal_agents.replay._nondeterminism import (
    ACTIVITY,
    CHILD,
    Command,
    SourceLine,
    find_divergence,
    parse_sdk_failure,
    scheduled_in_history,
    user_line_in_traceback,
)
from pytest_temporal_agents.replay._report import error_report, nondeterminism_report
from pytest_temporal_agents.replay._source_scan import (
    BYPASS,
    CLOCK,
    HASH,
    IO,
    RANDOM,
    SET_ORDER,
    scan_workflow,
)

TWO_SYMBOLS = next(HISTORIES.glob("*test_two_symbols/Pricer-1.json"))

# What the SDK core really says (captured from temporalio 1.35 replays).
TIMER_INSTEAD = (
    'Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] '
    "Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 5, "
    'ActivityTaskScheduled)", source: "", stack_trace: "", encoded_attributes: None, cause: None, '
    'failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "", non_retryable: '
    "false, details: None, next_retry_delay: None, category: Unspecified })) }), force_cause: "
    "NonDeterministicError }"
)
TYPE_MISMATCH = (
    'Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] '
    "Nondeterminism error: Activity type of scheduled event 'fetch_quote' does not match activity "
    'type of activity command \'check_risk\'", source: "", stack_trace: "", encoded_attributes: '
    "None, cause: None, failure_info: None }), force_cause: NonDeterministicError }"
)
RAISED = (
    '4: Workflow activation completion failed: Failure { failure: Some(Failure { message: "boom in '
    'replay", source: "", stack_trace: "  File \\"/site-packages/temporalio/worker/_workflow_instance.py'
    '\\", line 534, in activate\\n    self._run_once(\\n\\n  File \\"/src/app/workflows.py\\", line 93, '
    'in run\\n    raise RuntimeError(\\"boom in replay\\")\\n", encoded_attributes: None, cause: None, '
    'failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "RuntimeError", '
    "non_retryable: false, details: None, next_retry_delay: None, category: Unspecified })) }), "
    "force_cause: Unspecified }"
)


@pytest.fixture(scope="module")
def history() -> History:
    return load_history_file(TWO_SYMBOLS)


# -- the SDK's message -------------------------------------------------------------------------


def test_a_message_naming_an_event_gives_its_id_type_and_what_the_code_did() -> None:
    failure = parse_sdk_failure(NondeterminismError(TIMER_INSTEAD))
    assert failure.nondeterminism
    assert (failure.event_id, failure.event_type, failure.machine) == (
        5,
        "ActivityTaskScheduled",
        "Timer",
    )
    assert failure.message.startswith("[TMPRL1100] Nondeterminism error: Timer machine")


def test_a_mismatch_message_gives_both_values() -> None:
    failure = parse_sdk_failure(NondeterminismError(TYPE_MISMATCH))
    assert failure.event_id is None
    assert (failure.mismatch, failure.history_value, failure.code_value) == (
        "activity type",
        "fetch_quote",
        "check_risk",
    )


def test_an_error_raised_by_workflow_code_gives_its_type_and_user_line() -> None:
    failure = parse_sdk_failure(RuntimeError(RAISED))
    assert not failure.nondeterminism
    assert failure.error_type == "RuntimeError"
    assert failure.message == "boom in replay"
    assert failure.source_line == SourceLine("/src/app/workflows.py", 93, "run")


def test_patch_messages_name_the_patch() -> None:
    text = (
        "[TMPRL1100] Nondeterminism error: Non-deprecated patch marker encountered for change "
        "risk-check, but there is no corresponding change command!"
    )
    assert parse_sdk_failure(NondeterminismError(text)).patch == "risk-check"


def test_sdk_and_stdlib_frames_are_never_the_user_line() -> None:
    import asyncio.events

    import temporalio.worker

    for module in (asyncio.events, temporalio.worker):
        trace = f'File "{module.__file__}", line 80, in _run\n'
        assert user_line_in_traceback(trace) is None
    assert user_line_in_traceback('File "/src/app/flows.py", line 7, in run\n') == SourceLine(
        "/src/app/flows.py", 7, "run"
    )


# -- lining the code up with the history -------------------------------------------------------------


def _cmd(kind: str, name: str, ident: str | None = None, data: bytes | None = None) -> Command:
    payloads = None
    if data is not None:
        payloads = Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=data)])
    return Command(kind, name, ident, 3, None, payloads)


def test_the_history_of_the_fixture_schedules_quotes_a_child_and_an_order(history: History) -> None:
    scheduled = scheduled_in_history(history.events)
    assert [(s.kind, s.name) for s in scheduled] == [
        (ACTIVITY, "fetch_quote"),
        (ACTIVITY, "fetch_quote"),
        (CHILD, "Analyze"),
        (ACTIVITY, "place_order"),
    ]
    assert scheduled[0].task_started == 3  # the first workflow task started at event 3


def test_the_first_disagreement_is_found_with_its_event(history: History) -> None:
    scheduled = scheduled_in_history(history.events)
    same = [_cmd(ACTIVITY, "fetch_quote"), _cmd(ACTIVITY, "fetch_quote")]
    assert find_divergence(same, scheduled, replay_failed=False) is None
    renamed = find_divergence([_cmd(ACTIVITY, "check_risk")], scheduled, replay_failed=True)
    assert renamed is not None and renamed.what == "name" and renamed.event is scheduled[0].event
    other_id = find_divergence(
        [_cmd(ACTIVITY, "fetch_quote", "quote-1")], scheduled, replay_failed=True
    )
    assert other_id is not None and other_id.what == "id"
    stopped = find_divergence(same, scheduled, replay_failed=True)
    assert stopped is not None and stopped.what == "missing" and stopped.event is scheduled[2].event
    extra = find_divergence(
        [*same, _cmd(CHILD, "Analyze"), _cmd(ACTIVITY, "place_order"), _cmd(ACTIVITY, "x")],
        scheduled,
        replay_failed=True,
    )
    assert extra is not None and extra.what == "extra" and extra.event is None


def test_inputs_are_compared_only_when_asked(history: History) -> None:
    scheduled = scheduled_in_history(history.events)
    recorded = scheduled[0].input.payloads[0].data  # '"AAPL"': the symbols are quoted sorted
    assert recorded == b'"AAPL"'
    other = [_cmd(ACTIVITY, "fetch_quote", data=b'"MSFT"')]
    assert find_divergence(other, scheduled, replay_failed=False) is None
    drift = find_divergence(other, scheduled, replay_failed=False, compare_inputs=True)
    assert drift is not None and drift.what == "input"
    same = [_cmd(ACTIVITY, "fetch_quote", data=recorded)]
    assert find_divergence(same, scheduled, replay_failed=False, compare_inputs=True) is None


# -- likely causes in the source ---------------------------------------------------------------------

CAUSES_SOURCE = """
import datetime
import random
import time
import uuid
from temporalio import workflow
import helpers_for_scan as helpers


def _local_helper(items):
    return [x for x in set(items)]                       # expect: SET_ORDER


@workflow.defn
class Everything:
    @workflow.run
    async def run(self, symbols: list[str], seen: set[str]) -> None:
        started = datetime.datetime.now()                # expect: CLOCK
        pick = random.choice(symbols)                    # expect: RANDOM
        ref = str(uuid.uuid4())                          # expect: RANDOM
        text = open("/etc/hosts").read()                 # expect: IO
        for symbol in set(symbols):                      # expect: SET_ORDER
            pass
        for symbol in seen:                              # expect: SET_ORDER
            pass
        bucket = hash(pick) % 4                          # expect: HASH
        with workflow.unsafe.sandbox_unrestricted():     # expect: BYPASS
            pass
        _local_helper(symbols)
        helpers.stamp()
        fine = workflow.now(), workflow.uuid4(), workflow.random().random()
        ordered = [s for s in sorted(set(symbols))]
        return None
"""

CAUSES = {
    "CLOCK": CLOCK,
    "RANDOM": RANDOM,
    "IO": IO,
    "SET_ORDER": SET_ORDER,
    "HASH": HASH,
    "BYPASS": BYPASS,
}

HELPER_SOURCE = """
import time


def stamp():
    return time.time_ns()                                # expect: CLOCK
"""


def _import_from(directory: Path, name: str, source: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_scan_names_each_cause_on_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _import_from(tmp_path, "helpers_for_scan", HELPER_SOURCE)
    module = _import_from(tmp_path, "scan_everything", CAUSES_SOURCE)
    try:
        found = {
            (f.cause, Path(f.line.path).name, f.line.line) for f in scan_workflow(module.Everything)
        }
    finally:
        sys.modules.pop("scan_everything", None)
        sys.modules.pop("helpers_for_scan", None)
    expected = {
        (CAUSES[marker], name, number)
        for name, source in (
            ("scan_everything.py", CAUSES_SOURCE),
            ("helpers_for_scan.py", HELPER_SOURCE),
        )
        for number, line in enumerate(source.splitlines(), start=1)
        for marker in [line.partition("# expect: ")[2].strip()]
        if marker
    }
    assert len(expected) == 10
    assert found == expected


def test_a_clean_workflow_has_no_findings() -> None:
    from replay_fixture_workflows import Pricer

    assert scan_workflow(Pricer) == []


# -- rendering -------------------------------------------------------------------------------------


def test_the_report_reads_event_code_timeline_causes_then_the_sdk(history: History) -> None:
    failure = parse_sdk_failure(NondeterminismError(TYPE_MISMATCH))
    scheduled = scheduled_in_history(history.events)
    command = Command(ACTIVITY, "check_risk", None, 3, SourceLine(__file__, 1, "run"), None)
    divergence = find_divergence([command], scheduled, replay_failed=True)
    report = nondeterminism_report(
        label="h.json",
        workflow_type="Pricer",
        events=history.events,
        failure=failure,
        divergence=divergence,
    )
    assert report.event_id == 5
    assert (
        report.headline
        == 'nondeterministic at event 5 (ActivityTaskScheduled fetch_quote("AAPL") id=1)'
    )
    text = report.text
    order = ["At event 5 the history has:", "The current code instead scheduled activity check_risk",
             "Timeline around event 5:", "Likely causes:", "workflow.patched(", "SDK message:"]  # fmt: skip
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert f"at {Path(__file__).name}" in text or "at tests/" in text
    assert text.rstrip().endswith("activity command 'check_risk'")


def test_an_id_mismatch_blames_ids_built_from_time_or_randomness(history: History) -> None:
    text = (
        "[TMPRL1100] Nondeterminism error: Activity id of scheduled event '1' does not match "
        "activity id of activity command 'order-17'"
    )
    report = nondeterminism_report(
        label="h", workflow_type="Pricer", events=history.events,
        failure=parse_sdk_failure(NondeterminismError(text)), divergence=None,
    )  # fmt: skip
    assert report.event_id == 5  # found by its activity id, though the SDK names no event
    assert (
        "activity id '1'" not in report.text
        and "id built from time, randomness or I/O" in report.text
    )
    assert "workflow.patched(" not in report.text


def test_a_process_dependent_failure_puts_set_order_first(history: History) -> None:
    report = nondeterminism_report(
        label="h", workflow_type="Pricer", events=history.events,
        failure=parse_sdk_failure(NondeterminismError(TYPE_MISMATCH)), divergence=None,
        process_dependent=True,
    )  # fmt: skip
    causes = report.text.split("Likely causes:")[1]
    assert causes.lstrip().startswith("- it replays in this process but not in a fresh interpreter")
    assert "workflow.patched(" not in causes


def test_an_error_report_names_the_exception_and_line(history: History) -> None:
    report = error_report(
        label="h",
        workflow_type="Pricer",
        events=history.events,
        failure=parse_sdk_failure(RuntimeError(RAISED)),
    )
    assert (
        report.headline
        == "the workflow code raised RuntimeError during replay at /src/app/workflows.py:93"
    )
    assert "SDK message:" in report.text


def test_a_removed_patch_is_found_at_its_marker_event() -> None:
    """The SDK core writes a patch marker's id under ``patch-data``; the report finds it."""
    versioned = (
        ROOT
        / "tests/histories/tests-reference-test_wf_versioned.py--test_release_2_skips_a_buy_the_cash_no_longer_covers/VersionedTradingWorkflow-1.json"
    )
    events = list(load_history_file(versioned).events)
    text = (
        "[TMPRL1100] Nondeterminism error: Non-deprecated patch marker encountered for change "
        "recheck-account-before-execution, but there is no corresponding change command!"
    )
    report = nondeterminism_report(
        label="versioned",
        workflow_type="VersionedTradingWorkflow",
        events=events,
        failure=parse_sdk_failure(NondeterminismError(text)),
        divergence=None,
    )
    assert report.event_id == 23
    assert "no longer calls workflow.patched('recheck-account-before-execution')" in report.text
