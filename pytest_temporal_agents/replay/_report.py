"""The readable nondeterminism report.

The report answers, in this order: which history event the replay stopped at and what the
history recorded there; what the current code did instead, and on which line; the events
around it; the likely causes with their fixes; and, last, the SDK's own message.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.history.v1 import HistoryEvent

from ..history import (
    ACTIVITY,
    CHILD,
    ParsedEvents,
    describe_event,
    event_name,
    parse_events,
    render_timeline,
    summarize_payloads,
)
from ._nondeterminism import Divergence, SdkFailure, SourceLine
from ._source_scan import HASH, SET_ORDER, Finding

# -- the report -----------------------------------------------------------------------------------

_MACHINE_ACTIONS = {
    "Timer": "started a timer (workflow.sleep, asyncio.sleep or a wait_condition timeout)",
    "Activity": "scheduled an activity",
    "Local activity": "ran a local activity",
    "Child workflow": "started a child workflow",
    "Complete workflow": "completed the workflow (returned from its @workflow.run method)",
    "Fail workflow": "failed the workflow (raised from its @workflow.run method)",
    "Continue as new workflow": "continued as new",
    "Cancel workflow": "canceled the workflow",
    "Signal external WF": "signalled another workflow",
    "Cancel external WF": "asked to cancel another workflow",
    "Update": "handled an update differently",
    "Change": "called workflow.patched() differently",
    "No command": "issued no command there: it now waits for something else, or that step is gone",
}

PATCH_SNIPPET = """\
if workflow.patched("my-change"):
    ...  # the new code
else:
    ...  # the old code, exactly as the running workflows' histories recorded it"""

CODE_CHANGE = (
    "a code change (activities, timers or child workflows added, removed, reordered or "
    "renamed) that workflows already running cannot follow: keep the old path for them with\n"
    + textwrap.indent(PATCH_SNIPPET, "        ")
    + "\n      and remove it with workflow.deprecate_patch(\"my-change\") once none of them runs"
)
GENERIC_VALUES = (
    "a branch on a value that differs between run and replay: wall-clock time (use "
    "workflow.now()), randomness (workflow.random(), workflow.uuid4()), I/O (do it in an "
    "activity), iteration over a set (iterate sorted(...))"
)
ID_VALUES = (
    "an activity or child workflow id built from time, randomness or I/O: derive ids from "
    "workflow.info().workflow_id and a counter, or use workflow.uuid4()"
)
INPUT_VALUES = (
    "arguments computed from time, randomness, I/O or the order of a set. Temporal does not "
    "compare inputs on replay, so results get matched to the wrong call without any error"
)
PROCESS_DEPENDENT = (
    "it replays in this process but not in a fresh interpreter with another PYTHONHASHSEED: "
    "the order of a set (or dict built from one) of str/bytes, or hash(), changes between "
    "worker processes. Iterate sorted(...) instead"
)
PATCH_REMOVED = (
    "workflow.patched({patch!r}) was removed or renamed while workflows that recorded it still "
    "run: keep the call, or first replace it with workflow.deprecate_patch({patch!r})"
)
SANDBOX = (
    "the sandbox stopped the workflow from {what}: workflows must not use wall-clock time, "
    "randomness or I/O. Use workflow.now() / workflow.random() / workflow.uuid4(), or move the "
    "call into an activity"
)


#: The report's timeline: the start, six events before the one it is about, three after.
AROUND = (6, 3)


@dataclass(frozen=True)
class Report:
    event_id: int | None
    headline: str  # one line: what went wrong, where
    text: str  # the whole readable report


def _event_named_by(parsed: ParsedEvents, failure: SdkFailure) -> HistoryEvent | None:
    """The first event a message names by a value: an activity or child id, or a patch."""
    kind = {"activity id": ACTIVITY, "child workflow id": CHILD}.get(failure.mismatch or "")
    ids = [c.scheduled_event_id for c in parsed.calls if c.kind == kind and c.id == failure.history_value][:1]
    if failure.patch:
        patch = failure.patch
        ids += [m.event_id for m in parsed.markers if patch in summarize_payloads(_patch_data(m.details), 400)][:1]
    return parsed.event(min(ids)) if ids else None


def _patch_data(details: Mapping[str, Any]) -> Any:
    """A patch marker's payload: the SDK core writes it under ``patch-data``."""
    return details.get("patch-data", details.get("patch_data"))


def _code_action(failure: SdkFailure | None, divergence: Divergence | None) -> tuple[str, SourceLine | None]:
    command = divergence.command if divergence is not None else None
    if command is not None and divergence is not None:
        prefix = {"input": "scheduled it with other arguments: "}.get(divergence.what, "scheduled ")
        return prefix + command.describe(summarize_payloads), command.location
    if failure is not None and failure.mismatch:
        return f"used {failure.mismatch} {failure.code_value!r} where the history has {failure.history_value!r}", None
    if failure is not None and failure.machine in _MACHINE_ACTIONS:
        return _MACHINE_ACTIONS[failure.machine], None
    if failure is not None and failure.patch:
        return f"no longer calls workflow.patched({failure.patch!r})", None
    return "did something else (the SDK did not say what)", None


def _likely_causes(
    failure: SdkFailure | None,
    divergence: Divergence | None,
    findings: Sequence[Finding],
    process_dependent: bool,
) -> Iterator[str]:
    if process_dependent:
        yield PROCESS_DEPENDENT
    ordered = sorted(findings, key=lambda f: (not (process_dependent and f.cause in {SET_ORDER, HASH})))
    yield from (str(f) for f in ordered)
    if failure is not None and failure.patch:
        yield PATCH_REMOVED.format(patch=failure.patch)
        return
    what = divergence.what if divergence is not None else None
    if what == "input":
        yield INPUT_VALUES
    elif process_dependent:
        return  # the same code replays here: neither a code change nor the clock
    elif what == "id" or (failure is not None and (failure.mismatch or "").endswith(" id")):
        yield ID_VALUES
    else:
        yield CODE_CHANGE
        if not findings:
            yield GENERIC_VALUES


def nondeterminism_report(
    *,
    label: str,
    workflow_type: str,
    events: Sequence[HistoryEvent],
    failure: SdkFailure | None,
    divergence: Divergence | None,
    findings: Sequence[Finding] = (),
    process_dependent: bool = False,
) -> Report:
    """The readable report for a replay that diverged from its history.

    Args:
        label: what was replayed: a file path, or ``workflow <id>``.
        failure: the SDK's error, if the replay failed (None for input drift, which the
            SDK does not detect).
        divergence: where the recorded commands and the history part, if found.
        findings: likely causes found in the workflow's source.
        process_dependent: the history replays in this process but not in a fresh one.
    """
    parsed = parse_events(events)
    event = None
    if failure is not None:
        event = parsed.event(failure.event_id)
        if event is None and divergence is not None:
            event = divergence.event
        if event is None:
            event = _event_named_by(parsed, failure)
    elif divergence is not None:
        event = divergence.event
    action, location = _code_action(failure, divergence)
    lines = []
    if event is not None:
        detail = describe_event(event, parsed.activity_names())
        headline = f"nondeterministic at event {event.event_id} ({event_name(event)} {detail})".rstrip()
        if divergence is not None and divergence.what == "input":
            headline = f"nondeterministic input at event {event.event_id} ({event_name(event)} {detail})"
        lines += [f"At event {event.event_id} the history has:", f"    {event_name(event)}  {detail}"]
    else:
        headline = "nondeterministic: the code did something the history does not have"
        lines.append("The history has no event for what the code did next.")
    lines.append(f"The current code instead {action}")
    if location is not None:
        lines.append(f"    at {location}")
    lines += ["", f"Timeline around event {event.event_id}:" if event else "Timeline:"]
    mark = event.event_id if event else None
    lines.append(render_timeline(events, mark=mark, around=AROUND, names=parsed.activity_names()))
    causes = list(_likely_causes(failure, divergence, findings, process_dependent))
    lines += ["", "Likely causes:", *(f"  - {cause}" for cause in causes)]
    if failure is not None:
        lines += ["", "SDK message:", textwrap.indent(failure.message, "    ")]
    title = f"{label} ({workflow_type}) does not replay: {headline}"
    return Report(event.event_id if event else None, headline, title + "\n" + "\n".join(lines))


def error_report(*, label: str, workflow_type: str, events: Sequence[HistoryEvent], failure: SdkFailure) -> Report:
    """The report for a replay that failed because the workflow code raised."""
    where = failure.source_line
    kind = failure.error_type or "an error"
    headline = f"the workflow code raised {kind} during replay" + (f" at {where.where()}" if where else "")
    lines = [f"{failure.message}"]
    if where is not None:
        lines.append(f"    at {where}")
    if kind == "RestrictedWorkflowAccessError":
        lines += ["", "Likely cause:", "  - " + SANDBOX.format(what=_restricted_what(failure.message))]
    lines += ["", "Timeline (end):", render_timeline(events, around=AROUND)]
    lines += ["", "SDK message:", textwrap.indent(failure.original, "    ")]
    title = f"{label} ({workflow_type}) does not replay: {headline}"
    return Report(None, headline, title + "\n" + "\n".join(lines))


def _restricted_what(message: str) -> str:
    # "Cannot access time.time.__call__ from inside a workflow. ..."
    text = message.split(" from inside a workflow")[0].removeprefix("Cannot access ").strip()
    return f"calling {text.removesuffix('.__call__')}" if text else "doing something forbidden"


def sandbox_violations(events: Sequence[HistoryEvent]) -> list[tuple[HistoryEvent, str, SourceLine | None]]:
    """Workflow tasks that failed because the sandbox forbade something, with the line."""
    from ._nondeterminism import user_line_in_traceback

    # Failed workflow tasks, and the workflow itself: with NondeterminismError among the
    # worker's failure types, the workflow fails.
    return [
        (event, _restricted_what(failure.message), user_line_in_traceback(failure.stack_trace))
        for event, failure in parse_events(events).failures
        if failure.application_failure_info.type == "RestrictedWorkflowAccessError"
    ]


def sandbox_report(label: str, workflow_type: str, events: Sequence[HistoryEvent]) -> Report | None:
    """The report for a run whose workflow task the sandbox failed (it never replays)."""
    violations = sandbox_violations(events)
    if not violations:
        return None
    event, what, where = violations[0]
    headline = f"the sandbox stopped it {what}" + (f" at {where.where()}" if where else "")
    lines = [f"{event_name(event)} at event {event.event_id}: {what}"]
    if where is not None:
        lines.append(f"    at {where}")
    lines += ["", "Likely cause:", "  - " + SANDBOX.format(what=what)]
    title = f"{label} ({workflow_type}) is not deterministic: {headline}"
    return Report(event.event_id, headline, title + "\n" + "\n".join(lines))

