"""The one seam to temporalio's internals.

Everything the plugin needs from temporalio that is not public API goes through this module:
the definition objects behind ``@activity.defn`` / ``@workflow.defn`` (and the attribute that
holds them), the running activity's context, the async-completion signal, the JSON
converter's type coercion, the sandboxed runner's validation step, the activities a worker
still runs, and the wording of the core's replay errors. No other module names a private temporalio name or a ``__temporal_*``
attribute, so an SDK release that moves one breaks here, and ``tests/sdk_canary/`` names it.

The registered names of activities and workflows, and finding the class of a ``@workflow.run``
method, live here too: they are read from those definitions.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import temporalio.activity
import temporalio.workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ._errors import HarnessUsageError

#: What ``@activity.defn`` attaches: name, fn, is_async, arg_types, ret_type.
ActivityDefinition = temporalio.activity._Definition
#: What ``@workflow.defn`` attaches: cls, name, run_fn, arg_types, ret_type.
WorkflowDefinition = temporalio.workflow._Definition
#: Raised by an activity that called ``activity.raise_complete_async()``: still running.
CompleteAsyncError = temporalio.activity._CompleteAsyncError

_ACTIVITY_DEFINITION_ATTRIBUTE = "__temporal_activity_definition"


# -- definitions and names ----------------------------------------------------------------------
def activity_definition(fn: Any) -> ActivityDefinition | None:
    """The activity definition of a callable, or None if it is not an activity."""
    return temporalio.activity._Definition.from_callable(fn)


def must_activity_definition(fn: Any) -> ActivityDefinition:
    """The activity definition of a callable; the SDK's error if it is not an activity."""
    return temporalio.activity._Definition.must_from_callable(fn)


def workflow_definition(cls: Any) -> WorkflowDefinition | None:
    """The workflow definition of a class, or None if it is not a workflow."""
    return temporalio.workflow._Definition.from_class(cls)


def must_workflow_definition(cls: type) -> WorkflowDefinition:
    """The workflow definition of a class; the SDK's error if it is not a workflow."""
    return temporalio.workflow._Definition.must_from_class(cls)


def redefine_activity(wrapper: Callable[..., Any], defn: ActivityDefinition) -> None:
    """Make ``wrapper`` an activity with ``defn``'s name and types, running ``wrapper``."""
    setattr(wrapper, _ACTIVITY_DEFINITION_ATTRIBUTE, replace(defn, fn=wrapper))


def signal_name(signal: Callable[..., Any] | str) -> str:
    """The name of a ``@workflow.signal`` method, or the name itself."""
    return temporalio.workflow._SignalDefinition.must_name_from_fn_or_str(signal)


def query_definition(query: Callable[..., Any]) -> Any:
    """The query definition of a ``@workflow.query`` method (``name``, ``ret_type``), or None."""
    return temporalio.workflow._QueryDefinition.from_fn(query)


def update_name_and_type(update: Callable[..., Any] | str) -> tuple[str, Any]:
    """The name and return type of a ``@workflow.update`` method (or a name and None).

    Raises:
        RuntimeError: a dynamic update handler, which has no name to send.
    """
    return temporalio.workflow._UpdateDefinition.get_name_and_result_type(update)


def activity_name(fn: Callable[..., Any] | str) -> str:
    """The registered name of an activity callable (or the name itself)."""
    if isinstance(fn, str):
        return fn
    defn = activity_definition(fn)
    if defn is None or defn.name is None:
        raise HarnessUsageError(
            f"{fn!r} is not a Temporal activity: decorate it with @activity.defn "
            "or pass the activity's registered name as a string."
        )
    return defn.name


def workflow_name(cls: type | str) -> str:
    """The registered name of a workflow class (or the name itself)."""
    if isinstance(cls, str):
        return cls
    defn = workflow_definition(cls)
    if defn is None or defn.name is None:
        raise HarnessUsageError(f"{cls!r} is not a Temporal workflow: decorate it with @workflow.defn.")
    return defn.name


def workflow_class_of(run_fn: Any) -> type | None:
    """The class that defines a ``@workflow.run`` method, if it can be found."""
    if isinstance(run_fn, type):
        return run_fn
    qualname = getattr(run_fn, "__qualname__", "")
    module = sys.modules.get(getattr(run_fn, "__module__", ""), None)
    if module is None or "." not in qualname or "<locals>" in qualname:
        return None
    owner: Any = module
    for part in qualname.split(".")[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return owner if isinstance(owner, type) else None


# -- the running activity -----------------------------------------------------------------------
@dataclass(frozen=True)
class RunningActivity:
    """An activity a worker still runs: its registered name, attempt, workflow and task."""

    name: str
    attempt: int
    workflow_id: str
    #: The asyncio task that runs it (for a sync activity, the task awaiting its thread).
    task: Any
    sync: bool
    task_token: bytes = b""


def running_activities(worker: Any) -> list[RunningActivity]:
    """The activities ``worker`` (a :class:`temporalio.worker.Worker`) has not finished.

    Read from the worker's activity worker, which keeps one record per task token until the
    activity's task is done: the only place that knows what a shutdown still waits for.
    """
    activity_worker = getattr(worker, "_activity_worker", None)
    running: dict[Any, Any] = getattr(activity_worker, "_running_activities", None) or {}
    found = []
    for token, record in list(running.items()):
        info = record.info
        found.append(
            RunningActivity(
                name=info.activity_type if info is not None else "?",
                attempt=info.attempt if info is not None else 0,
                workflow_id=(info.workflow_id or "") if info is not None else "",
                task=record.task,
                sync=bool(record.sync),
                task_token=bytes(token),
            )
        )
    return found


def activity_context() -> Any:
    """The running activity's context; its ``heartbeat`` callable may be swapped per attempt."""
    return temporalio.activity._Context.current()


def activity_environment_cancelled(env: Any) -> bool:
    """Whether a ``temporalio.testing.ActivityEnvironment`` has cancelled its activity."""
    return bool(env._cancelled)


def payload_converter_module() -> ModuleType:
    """The module whose ``value_to_type`` turns JSON values into the declared types."""
    import temporalio.converter._payload_converter as payload_converter

    return payload_converter


# -- the workflow sandbox -----------------------------------------------------------------------
#: Never workflow code: passed through the sandbox instead of re-imported for every run.
#: A test module that defines a workflow also imports pytest, this plugin, hypothesis...;
#: re-importing those inside the sandbox is slow and can trip its restrictions.
TEST_TOOLING = (
    "pytest", "_pytest", "pluggy", "iniconfig", "pytest_asyncio", "pytest_temporal_agents",
    "hypothesis", "faker", "freezegun", "xdist",
)  # fmt: skip

#: The restrictions of every runner the harness builds: the default ones, tooling passed through.
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*TEST_TOOLING)

#: Workflow classes this process has already validated in the sandbox.
_validated: weakref.WeakSet[type] = weakref.WeakSet()


@dataclass(frozen=True)
class ValidateOnceRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner that validates each workflow class once per process.

    Workers and replayers validate every workflow they register by running it up in a
    fresh sandbox, which re-imports its module (10-35 ms a class). The harness builds a
    worker per test, per hypothesis example in ``temporal.isolated()`` and a replayer per
    teardown check, so the same module was validated hundreds of times: about a sixth of
    the fault properties' time. A class that passed once passes again (its module cannot
    change in this process), so later ones skip it; one that failed is validated, and
    fails, every time. Runners with other restrictions (a plugin's) validate every time.
    The workflow runs themselves stay fully sandboxed.
    """

    def prepare_workflow(self, defn: WorkflowDefinition) -> None:
        # Only under the harness's own restrictions: a plugin's runner passes other modules
        # through, and a class valid there may be invalid here (and the other way round).
        default = self.restrictions is RESTRICTIONS
        if default and defn.cls in _validated:
            return
        super().prepare_workflow(defn)
        if default:
            _validated.add(defn.cls)


def sandboxed_runner() -> SandboxedWorkflowRunner:
    """Temporal's default sandboxed runner with the test tooling passed through."""
    return ValidateOnceRunner(restrictions=RESTRICTIONS)


# -- the core's replay errors -------------------------------------------------------------------
# The core reports a failed replay as the debug print of a Rust struct; these are its words.
CORE_EVENT_REF = re.compile(r"HistoryEvent\(id: (?P<id>\d+), (?P<type>\w+)\)")
CORE_MACHINE = re.compile(r"(?P<machine>[A-Z][\w ]*?) machine (?:does not|cannot) handle this event")
CORE_NO_COMMAND = "No command scheduled for event"
CORE_PATCH = re.compile(r"patch marker encountered for change (?P<patch>\S+?),")
#: (pattern, what differs) for "X of scheduled event 'h' does not match X of command 'c'"
#: (for a local activity: "X of recorded marker 'h' ... of local activity command 'c'").
CORE_MISMATCHES = (
    (re.compile(r"Activity id of (?:scheduled event|recorded marker) '(?P<history>.*?)' does not match activity id of (?:local )?activity command '(?P<code>.*?)'"), "activity id"),  # noqa: E501
    (re.compile(r"Activity type of (?:scheduled event|recorded marker) '(?P<history>.*?)' does not match activity type of (?:local )?activity command '(?P<code>.*?)'"), "activity type"),  # noqa: E501
    (re.compile(r"Child workflow id of scheduled event '(?P<history>.*?)' does not match child workflow id of command '(?P<code>.*?)'"), "child workflow id"),  # noqa: E501
    (re.compile(r"Child workflow type of scheduled event '(?P<history>.*?)' does not match child workflow type of command '(?P<code>.*?)'"), "child workflow type"),  # noqa: E501
)
_CORE_FIELD = r'{name}: "(?P<value>(?:[^"\\]|\\.)*)"'
_RUST_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'", "0": "\0"}


def is_nondeterminism(error: BaseException | str) -> bool:
    """Whether a replay error is the SDK's nondeterminism error (by type or by its code)."""
    text = str(error)
    return isinstance(error, temporalio.workflow.NondeterminismError) or (
        "TMPRL1100" in text or "NonDeterministicError" in text
    )


def core_error_field(name: str, text: str) -> str | None:
    """One string field (``message``, ``stack_trace``, ``r#type``) of the core's error print."""
    match = re.search(_CORE_FIELD.format(name=re.escape(name)), text)
    return _rust_unescape(match["value"]) if match else None


def _rust_unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("u{"):
            return chr(int(body[2:-1], 16))
        return _RUST_ESCAPES.get(body, body)

    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|.)", replace, text)
