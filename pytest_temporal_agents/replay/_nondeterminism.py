"""Find where a replay diverged: the SDK's error, the commands the code issued, the history.

The SDK core names the diverging event only in some of its messages
("Timer machine does not handle this event: HistoryEvent(id: 11, ActivityTaskScheduled)")
and not in others ("Activity type of scheduled event 'a' does not match ... 'b'").
So a replay for diagnosis runs with :class:`CommandRecorder`, a workflow interceptor that
notes every activity and child workflow the code schedules, with its source line; lining
those up with the history's scheduled events names the event in every case, and says what
the code did instead.
"""

from __future__ import annotations

import functools
import linecache
import os
import re
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import temporalio
import temporalio.workflow
from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import HistoryEvent
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from .._sdk import (
    CORE_EVENT_REF,
    CORE_MACHINE,
    CORE_MISMATCHES,
    CORE_NO_COMMAND,
    CORE_PATCH,
    core_error_field,
    is_nondeterminism,
)
from ..history import ACTIVITY, CHILD, parse_events

# -- source lines -----------------------------------------------------------------------------

#: Frames in these trees are never "the workflow's source line". Installed packages are
#: under the standard library's tree too, and may be the user's own: only the SDK and
#: this plugin are skipped there.
#: Computed on first use, not at import: a workflow module may import this package, and
#: the workflow sandbox forbids ``Path.resolve`` while it imports one.
@functools.cache
def _skipped_trees() -> tuple[tuple[str, ...], str]:
    sdk_and_plugin = tuple(
        str(Path(p).resolve())
        for p in (os.path.dirname(temporalio.__file__), os.path.dirname(os.path.dirname(__file__)))
    )
    return sdk_and_plugin, str(Path(sysconfig.get_paths()["stdlib"]).resolve())


@dataclass(frozen=True)
class SourceLine:
    """One line of user code: where a command was issued or an error was raised."""

    path: str
    line: int
    function: str = ""

    @property
    def text(self) -> str:
        return linecache.getline(self.path, self.line).strip()

    def where(self) -> str:
        """``file.py:12`` with the path relative to the working directory when shorter."""
        try:
            shown = os.path.relpath(self.path)
        except ValueError:  # another drive on Windows
            shown = self.path
        if shown.startswith(".."):
            shown = self.path
        return f"{shown}:{self.line}"

    def __str__(self) -> str:
        text = self.text
        return f"{self.where()}: {text}" if text else self.where()


def caller_in_user_code(frame: FrameType | None) -> SourceLine | None:
    """The innermost frame, from ``frame`` outwards, that belongs to user code."""
    while frame is not None:
        path = frame.f_code.co_filename
        if _is_user_path(path):
            return SourceLine(path, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def scheduled_by_library(frame: FrameType | None) -> bool:
    """Whether the code that scheduled a command, the innermost frame outside the SDK and
    this plugin, is an installed package's (a ``site-packages`` or ``dist-packages`` path).

    Frameworks that run their agent loop in workflow code (pydantic-ai's Temporal
    integration) build their activities' arguments themselves, and some put the wall-clock
    time or per-process ids in them; Temporal does not compare arguments on replay, so that
    is no error of the user's workflow, which the input comparison exists to find.
    """
    while frame is not None:
        path = frame.f_code.co_filename
        if not path or path.startswith("<"):
            return False
        resolved = _resolved(path)
        if not resolved.startswith(_skipped_trees()[0]):
            return _INSTALLED.search(resolved) is not None
        frame = frame.f_back
    return False


_INSTALLED = re.compile(r"[/\\](?:site|dist)-packages[/\\]")


@functools.lru_cache(maxsize=1024)
def _resolved(path: str) -> str:
    return str(Path(path).resolve())


_USER_PATH_CACHE: dict[str, bool] = {}


def _is_user_path(path: str) -> bool:
    known = _USER_PATH_CACHE.get(path)
    if known is None:
        if not path or path.startswith("<"):
            known = False
        else:
            resolved = str(Path(path).resolve())
            known = not resolved.startswith(_skipped_trees()[0]) and not (
                resolved.startswith(_skipped_trees()[1]) and "-packages" not in resolved
            )
        _USER_PATH_CACHE[path] = known
    return known


_TRACEBACK_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<fn>\S+)')


def user_line_in_traceback(stack_trace: str) -> SourceLine | None:
    """The innermost user-code frame of a formatted Python traceback."""
    found = None
    for match in _TRACEBACK_FRAME.finditer(stack_trace):
        if _is_user_path(match["path"]):
            found = SourceLine(match["path"], int(match["line"]), match["fn"])
    return found


# -- what the code did during replay ------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """An activity or child workflow the workflow code scheduled during a replay."""

    kind: str  # ACTIVITY | CHILD
    name: str
    id: str | None  # the explicit activity id / the child workflow id
    task_started: int  # event id of the WorkflowTaskStarted the code was running in
    location: SourceLine | None
    input: Payloads | None = None  # encoded arguments, when inputs are compared
    #: Scheduled by an installed library's code (pydantic-ai's agent loop, say), not by the
    #: workflow's own: its arguments are the library's business (see find_divergence).
    by_library: bool = False

    def describe(self, summarize: Any = None) -> str:
        args = f"({summarize(self.input)})" if summarize is not None and self.input is not None else ""
        ident = f" id={self.id}" if self.id else ""
        return f"{self.kind} {self.name}{args}{ident}"


class CommandRecorder(Interceptor):
    """Worker interceptor for a replay: records, per run id, what the code schedules.

    Args:
        encode_inputs: also encode each command's arguments with the workflow's payload
            converter, so they can be compared with the inputs the history recorded.
    """

    def __init__(self, *, encode_inputs: bool = False) -> None:
        self.encode_inputs = encode_inputs
        self.commands: dict[str, list[Command]] = {}
        self._inbound = type("_BoundInbound", (_RecordingInbound,), {"recorder": self})

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return self._inbound

    def _record(self, kind: str, name: str, ident: str | None, args: Sequence[Any]) -> None:
        info = temporalio.workflow.info()
        encoded = None
        if self.encode_inputs:
            try:
                encoded = Payloads(payloads=temporalio.workflow.payload_converter().to_payloads(args))
            except Exception:  # noqa: BLE001 - the SDK reports unencodable arguments itself
                encoded = None
        self.commands.setdefault(info.run_id, []).append(
            Command(
                kind=kind,
                name=name,
                id=ident,
                task_started=info.get_current_history_length(),
                location=caller_in_user_code(sys._getframe(2)),
                input=encoded,
                by_library=scheduled_by_library(sys._getframe(2)),
            )
        )


class _RecordingInbound(WorkflowInboundInterceptor):
    recorder: CommandRecorder

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_RecordingOutbound(outbound, self.recorder))


class _RecordingOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, recorder: CommandRecorder) -> None:
        super().__init__(next)
        self._recorder = recorder

    def start_activity(self, input: StartActivityInput) -> Any:
        self._recorder._record(ACTIVITY, input.activity, input.activity_id, input.args)
        return super().start_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        self._recorder._record(CHILD, input.workflow, input.id, input.args)
        return await super().start_child_workflow(input)


# -- what the history recorded ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scheduled:
    """An activity or child workflow the history says the code scheduled."""

    event: HistoryEvent
    kind: str
    name: str
    id: str
    task_started: int
    input: Payloads


def scheduled_in_history(events: Sequence[HistoryEvent]) -> list[Scheduled]:
    """Every ActivityTaskScheduled and StartChildWorkflowExecutionInitiated, in order."""
    return [
        Scheduled(call.scheduled, call.kind, call.name, call.id, call.task_started, call.input)
        for call in parse_events(events).calls
    ]


# -- lining them up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """The first place where the code and the history disagree."""

    event: HistoryEvent | None  # what the history has there (None: the history has nothing)
    command: Command | None  # what the code did there (None: nothing we could record)
    what: str  # "kind" | "name" | "id" | "missing" | "extra" | "input"


def _same_input(a: Payloads | None, b: Payloads) -> bool:
    if a is None:
        return True
    if len(a.payloads) != len(b.payloads):
        return False
    return all(
        x.data == y.data and x.metadata.get("encoding") == y.metadata.get("encoding")
        for x, y in zip(a.payloads, b.payloads)
    )


def find_divergence(
    commands: Sequence[Command],
    scheduled: Sequence[Scheduled],
    *,
    replay_failed: bool,
    compare_inputs: bool = False,
) -> Divergence | None:
    """Compare what the code scheduled with what the history scheduled, in order.

    Args:
        replay_failed: the replay stopped with an error; a history with more scheduled
            events than the code produced is then where it stopped, not a clean ending.
        compare_inputs: also compare encoded arguments (only meaningful when the code is
            the code that wrote the history: later code may legitimately change inputs),
            except those an installed library scheduled (:func:`scheduled_by_library`).
    """
    for command, recorded in zip(commands, scheduled):
        if command.kind != recorded.kind:
            return Divergence(recorded.event, command, "kind")
        if command.name != recorded.name:
            return Divergence(recorded.event, command, "name")
        if command.id is not None and command.id != recorded.id:
            return Divergence(recorded.event, command, "id")
        if compare_inputs and not command.by_library and not _same_input(command.input, recorded.input):
            return Divergence(recorded.event, command, "input")
    if len(commands) > len(scheduled):
        return Divergence(None, commands[len(scheduled)], "extra")
    if replay_failed and len(commands) < len(scheduled):
        return Divergence(scheduled[len(commands)].event, None, "missing")
    return None


# -- the SDK's error ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SdkFailure:
    """What the SDK said when a replay failed, taken apart."""

    original: str  # the SDK's whole message, untouched
    message: str  # the core's or the workflow's own message
    nondeterminism: bool
    error_type: str | None = None  # the Python exception type, for errors in workflow code
    stack_trace: str | None = None
    event_id: int | None = None  # the history event the message names, if it names one
    event_type: str | None = None
    machine: str | None = None  # "Timer", "Activity", "Complete workflow", ...
    history_value: str | None = None  # for "X of scheduled event 'h' does not match ... 'c'"
    code_value: str | None = None
    mismatch: str | None = None  # "activity id" | "activity type" | "child id" | "child type"
    patch: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source_line(self) -> SourceLine | None:
        return user_line_in_traceback(self.stack_trace) if self.stack_trace else None


def parse_sdk_failure(error: BaseException | str) -> SdkFailure:
    """Take the SDK's replay error apart (its message is the debug print of a Rust struct)."""
    original = str(error)
    nondeterminism = is_nondeterminism(error)
    message = core_error_field("message", original) or original
    stack = core_error_field("stack_trace", original) or None
    error_type = core_error_field("r#type", original) or None
    values: dict[str, Any] = {}
    if match := CORE_EVENT_REF.search(message):
        values.update(event_id=int(match["id"]), event_type=match["type"])
    if match := CORE_MACHINE.search(message):
        values["machine"] = match["machine"]
    elif CORE_NO_COMMAND in message:
        values["machine"] = "No command"
    for pattern, mismatch in CORE_MISMATCHES:
        if match := pattern.search(message):
            values.update(history_value=match["history"], code_value=match["code"], mismatch=mismatch)
            break
    if match := CORE_PATCH.search(message):
        values["patch"] = match["patch"]
    return SdkFailure(
        original=original,
        message=message,
        nondeterminism=nondeterminism,
        error_type=error_type if error_type and not nondeterminism else None,
        stack_trace=stack,
        **values,
    )
