"""The readable nondeterminism report, and the scan of workflow source for likely causes.

The report answers, in this order: which history event the replay stopped at and what the
history recorded there; what the current code did instead, and on which line; the events
around it; the likely causes with their fixes; and, last, the SDK's own message.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from ._history import describe_event, event_name, format_offset, summarize_payloads
from ._nondeterminism import Divergence, SdkFailure, SourceLine, _is_user_path

# -- likely causes, found in the workflow's source ------------------------------------------------

CLOCK = "wall-clock time"
RANDOM = "randomness"
IO = "I/O"
SET_ORDER = "iteration over a set"
HASH = "hash()"
BYPASS = "sandbox bypass"

FIXES = {
    CLOCK: "use workflow.now() or workflow.time(): the time of the current workflow task, "
    "the same on every replay",
    RANDOM: "use workflow.random() (seeded from the history) or workflow.uuid4()",
    IO: "move it into an activity: on replay the workflow gets the activity's result from "
    "the history instead of doing the I/O again",
    SET_ORDER: "iterate sorted(...) instead: the order of a set of str/bytes depends on "
    "PYTHONHASHSEED, which differs between worker processes",
    HASH: "hash() of str/bytes differs between processes; use hashlib or workflow.random()",
    BYPASS: "the sandbox does not check code here; keep it free of time, randomness and I/O",
}

_CLOCK_CALLS = {
    "datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time",
    "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "time.perf_counter_ns", "time.localtime", "time.gmtime", "time.ctime", "time.strftime",
}  # fmt: skip
_RANDOM_PREFIXES = ("random.", "secrets.", "np.random.", "numpy.random.")
_RANDOM_CALLS = {"uuid.uuid1", "uuid.uuid4", "uuid1", "uuid4", "os.urandom", "os.getrandom"}
_IO_PREFIXES = (
    "os.path.", "os.environ", "os.getenv", "os.listdir", "os.scandir", "os.stat", "shutil.",
    "requests.", "httpx.", "urllib.", "aiohttp.", "socket.", "sqlite3.", "subprocess.",
    "boto3.", "psycopg", "redis.",
)  # fmt: skip
_IO_CALLS = {"open", "input"}
_IO_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "exists", "iterdir"}
_SET_CONSUMERS = {"list", "tuple", "enumerate", "zip", "iter", "next"}
_SET_METHODS = {"union", "intersection", "difference", "symmetric_difference"}


@dataclass(frozen=True)
class Finding:
    """A line of workflow code that can make replays diverge."""

    cause: str
    line: SourceLine

    def __str__(self) -> str:
        return f"{self.cause} at {self.line}\n      fix: {FIXES[self.cause]}"


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _is_set_annotation(node: ast.AST | None) -> bool:
    if node is None:
        return False
    text = _dotted(node.value if isinstance(node, ast.Subscript) else node)
    return text.split(".")[-1] in {"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"}


class _Scanner(ast.NodeVisitor):
    """Walks one workflow class (and the module functions it calls) for likely causes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.set_names: set[str] = set()
        self.called: set[str] = set()

    def _add(self, cause: str, node: ast.AST) -> None:
        self.findings.append(Finding(cause, SourceLine(self.path, getattr(node, "lineno", 0))))

    def _is_set(self, node: ast.AST) -> bool:
        if isinstance(node, (ast.Set, ast.SetComp)):
            return True
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in {"set", "frozenset"}:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr in _SET_METHODS:
                return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub, ast.BitXor)):
            return self._is_set(node.left) or self._is_set(node.right)
        return _dotted(node) in self.set_names

    # names and attributes that hold sets
    def visit_Assign(self, node: ast.Assign) -> None:
        if self._is_set(node.value):
            self.set_names.update(_dotted(t) for t in node.targets)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if _is_set_annotation(node.annotation) or (node.value is not None and self._is_set(node.value)):
            self.set_names.add(_dotted(node.target))
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if _is_set_annotation(node.annotation):
            self.set_names.add(node.arg)

    # iteration over sets
    def visit_For(self, node: ast.For) -> None:
        if self._is_set(node.iter):
            self._add(SET_ORDER, node)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if self._is_set(node.iter):
            self._add(SET_ORDER, node.iter)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if _dotted(item.context_expr).endswith("sandbox_unrestricted()"):
                self._add(BYPASS, node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _dotted(node) == "os.environ":
            self._add(IO, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        tail2 = ".".join(name.split(".")[-2:])
        if name.startswith("workflow."):
            pass
        elif tail2 in _CLOCK_CALLS:
            self._add(CLOCK, node)
        elif name.startswith(_RANDOM_PREFIXES) or name in _RANDOM_CALLS:
            self._add(RANDOM, node)
        elif (
            name in _IO_CALLS
            or name.startswith(_IO_PREFIXES)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in _IO_METHODS)
        ):
            if name != "os.environ":  # reported once, by visit_Attribute
                self._add(IO, node)
        elif name == "hash":
            self._add(HASH, node)
        elif (name in _SET_CONSUMERS or name.endswith(".join")) and any(self._is_set(a) for a in node.args) or isinstance(node.func, ast.Attribute) and node.func.attr == "pop" and self._is_set(node.func.value):
            self._add(SET_ORDER, node)
        if name and not name.startswith(("workflow.", "self.")):
            self.called.add(name)
        self.generic_visit(node)


@lru_cache(maxsize=128)
def _module_ast(path: str, mtime: float) -> ast.Module | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None


#: Helper functions followed from a workflow class, at most: the scan stays cheap.
MAX_HELPERS = 30


def _definition(obj: Any) -> tuple[str, ast.AST] | None:
    """The file and AST node that define a class or function of user code."""
    try:
        path = inspect.getsourcefile(obj)
        _, first_line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return None
    if path is None or not _is_user_path(path):
        return None
    tree = _module_ast(path, os.path.getmtime(path))
    if tree is None:
        return None
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds) and node.name == obj.__name__ and _starts(node) == first_line:
            return path, node
    return None


def _resolve(name: str, namespace: dict[str, Any]) -> Any:
    parts = name.split(".")
    if parts[0] not in namespace or "()" in name:
        return None
    value = namespace[parts[0]]
    for part in parts[1:]:
        value = getattr(value, part, None)
    return value if inspect.isfunction(value) else None


def scan_workflow(cls: type) -> list[Finding]:
    """Lines that break determinism in a workflow class and in the functions it calls.

    Functions are followed by name (``helper()``, ``helpers.order_ref()``) into user code
    of any module, transitively: a clock read in a helper imported through
    ``imports_passed_through()`` escapes the sandbox and is a classic cause.
    """
    found = _definition(cls)
    if found is None:
        return []
    module = sys.modules.get(cls.__module__)
    pending: list[tuple[str, ast.AST, dict[str, Any]]] = [(*found, vars(module) if module else {})]
    seen: set[int] = set()
    findings: list[Finding] = []
    while pending and len(seen) <= MAX_HELPERS:
        path, node, namespace = pending.pop(0)
        seen.add(id(node))
        scanner = _Scanner(path)
        if isinstance(node, ast.ClassDef) and _is_unsandboxed(node):
            scanner._add(BYPASS, node)
        scanner.visit(node)
        findings.extend(scanner.findings)
        for name in sorted(scanner.called):
            function = _resolve(name, namespace)
            definition = _definition(function) if function is not None else None
            if definition is not None and id(definition[1]) not in seen:
                pending.append((*definition, function.__globals__))
    unique = {(f.cause, f.line.path, f.line.line): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line.path != found[0], f.line.path, f.line.line))


def _starts(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _is_unsandboxed(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and _dotted(decorator.func).endswith("defn"):
            for keyword in decorator.keywords:
                if keyword.arg == "sandboxed" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
                    return True
    return False


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


@dataclass(frozen=True)
class Report:
    event_id: int | None
    headline: str  # one line: what went wrong, where
    text: str  # the whole readable report


def _find_event(events: Sequence[HistoryEvent], event_id: int | None) -> HistoryEvent | None:
    if event_id is None or not 0 < event_id <= len(events):
        return None
    event = events[event_id - 1]
    return event if event.event_id == event_id else next((e for e in events if e.event_id == event_id), None)


def _by_scheduled_id(events: Sequence[HistoryEvent], failure: SdkFailure) -> HistoryEvent | None:
    for event in events:
        if (
            failure.mismatch == "activity id"
            and event.HasField("activity_task_scheduled_event_attributes")
            and event.activity_task_scheduled_event_attributes.activity_id == failure.history_value
        ):
            return event
        if (
            failure.mismatch == "child workflow id"
            and event.HasField("start_child_workflow_execution_initiated_event_attributes")
            and event.start_child_workflow_execution_initiated_event_attributes.workflow_id == failure.history_value
        ):
            return event
        if failure.patch and event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            if "patch_data" in details and failure.patch in summarize_payloads(details["patch_data"], 400):
                return event
    return None


def _names(events: Sequence[HistoryEvent]) -> dict[int, str]:
    return {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }


def timeline_around(events: Sequence[HistoryEvent], event_id: int | None, before: int = 6, after: int = 3) -> str:
    """A few events either side of ``event_id`` (marked ``>>``), and the workflow's start.

    Without an event id: the last events. Workflow-task bookkeeping is left out, except
    the marked event itself.
    """
    noise = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    shown = [e for e in events if e.event_type not in noise or e.event_id == event_id]
    if not shown:
        return "  (no events)"
    index = next((i for i, e in enumerate(shown) if e.event_id == event_id), len(shown) - 1)
    low, high = max(1, index - before), min(len(shown), index + after + 1)
    window = [shown[0], *shown[low:high]]
    names = _names(events)
    start = events[0].event_time.ToDatetime()
    width = max(len(event_name(e)) for e in window)
    lines = []
    for event in window:
        flag = ">>" if event.event_id == event_id else "  "
        offset = format_offset(event.event_time.ToDatetime() - start)
        detail = describe_event(event, names)
        lines.append(f"{flag}{event.event_id:>4}  {offset:>10}  {event_name(event):<{width}}  {detail}".rstrip())
    if low > 1:
        lines.insert(1, "     ...")
    if high < len(shown):
        lines.append(f"     ... {len(shown) - high} more")
    return "\n".join(lines)


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
    event = None
    if failure is not None:
        event = _find_event(events, failure.event_id)
        if event is None and divergence is not None:
            event = divergence.event
        if event is None:
            event = _by_scheduled_id(events, failure)
    elif divergence is not None:
        event = divergence.event
    action, location = _code_action(failure, divergence)
    lines = []
    if event is not None:
        detail = describe_event(event, _names(events))
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
    lines.append(timeline_around(events, event.event_id if event else None))
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
    lines += ["", "Timeline (end):", timeline_around(events, None)]
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

    found = []
    for event in events:
        if event.HasField("workflow_task_failed_event_attributes"):
            failure = event.workflow_task_failed_event_attributes.failure
        elif event.HasField("workflow_execution_failed_event_attributes"):
            # With NondeterminismError among the worker's failure types, the workflow fails.
            failure = event.workflow_execution_failed_event_attributes.failure
        else:
            continue
        if failure.application_failure_info.type == "RestrictedWorkflowAccessError":
            found.append((event, _restricted_what(failure.message), user_line_in_traceback(failure.stack_trace)))
    return found


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

