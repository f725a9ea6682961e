"""From a workflow's history to the steps of its trajectory.

Which calls are model calls, which are tools and which are not the agent's at all; the
calls' arguments and results decoded with the client's data converter (to the declared types
where the definitions are known); and every attempt of each call where the harness recorded
them (the server's history keeps only each activity's last attempt).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import HistoryEvent
from temporalio.common import RawValue
from temporalio.converter import DataConverter

from .._context import INTERNAL_PREFIX
from .._sdk import activity_definition, workflow_definition
from ..history import ACTIVITY, Call, History, MarkerRecord, summarize_failure, summarize_payloads
from ._traj_pydantic_ai import as_tool_call, is_pydantic_ai_bookkeeping, pydantic_ai_kind
from ._traj_steps import (
    ACTIVITY_CALL,
    CHILD_WORKFLOW_CALL,
    LOCAL_ACTIVITY_CALL,
    MODEL,
    TOOL,
    Step,
    call_name,
)

#: The model activities that temporalio's OpenAI Agents integration registers
#: (``temporalio.contrib.openai_agents``, since temporalio 1.35 a shim over the
#: ``temporalio-openai-agents`` package): ``ModelActivity.invoke_model_activity`` and
#: ``ModelActivity.invoke_model_activity_streaming`` in
#: ``temporalio/openai_agents/_invoke_model_activity.py``, registered under their function
#: names by ``@activity.defn`` (as regular activities, or local ones with
#: ``ModelActivityParameters(use_local_activity=True)``). Its ``activity_as_tool`` tools are
#: the user's own activities, so they are tool calls under their own names.
AGENTS_SDK_MODEL_ACTIVITIES: Final = ("invoke_model_activity", "invoke_model_activity_streaming")

#: Other names taken for model calls unless the test names its model activities: searched in
#: the name and in its snake_case spelling (``CallLLM`` -> ``call_llm``). A whole word
#: ``llm``, ``model`` or ``completion(s)``: ``call_llm``, ``invoke_model``,
#: ``chat_completion``; not ``remodel`` or ``list_models``.
MODEL_NAME_PATTERN: Final = re.compile(r"(?<![a-z])(?:llm|model|completions?)(?![a-z])")

#: Names of what the harness itself registers (mocked children's local activity, delayed
#: callbacks): never a step. The same prefix as ``faults``' and ``saga``'s.

#: The marker the SDK's core records for each local activity it completed.
LOCAL_ACTIVITY_MARKER: Final = "core_local_activity"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DONE_ATTEMPT = ("succeeded", "running")


def snake_case(name: str) -> str:
    """``CallLLM`` -> ``call_llm``; ``invoke-model`` stays as it is."""
    return _CAMEL.sub("_", name).lower()


@dataclass(frozen=True)
class Classifier:
    """Which calls are model calls, which are tools, and which are left out."""

    #: The model activities the test named; None to detect them.
    models: frozenset[str] | None
    #: Detection's pattern besides the frameworks' names (the Agents SDK's, pydantic-ai's);
    #: None for those names alone.
    pattern: re.Pattern[str] | None
    ignored: frozenset[str]

    @classmethod
    def of(
        cls,
        model_activities: Iterable[Callable[..., Any] | str] | None,
        model_pattern: str | re.Pattern[str] | None,
        ignore: Iterable[Callable[..., Any] | type | str],
    ) -> Classifier:
        models = None if model_activities is None else frozenset(map(call_name, model_activities))
        pattern = re.compile(model_pattern) if isinstance(model_pattern, str) else model_pattern
        return cls(models, pattern, frozenset(map(call_name, ignore)))

    def kind(self, name: str, call: str) -> str | None:
        """``model``, ``tool``, or None for a call that is not shown."""
        if name.startswith(INTERNAL_PREFIX) or name in self.ignored or is_pydantic_ai_bookkeeping(name):
            return None
        if call == CHILD_WORKFLOW_CALL:
            return TOOL
        return MODEL if self.is_model(name) else TOOL

    def is_model(self, name: str) -> bool:
        if self.models is not None:
            return name in self.models
        if name in AGENTS_SDK_MODEL_ACTIVITIES:
            return True
        framework = pydantic_ai_kind(name)
        if framework is not None:
            return framework == MODEL
        pattern = self.pattern
        return pattern is not None and bool(
            pattern.search(name) or pattern.search(snake_case(name))
        )


@dataclass
class Definitions:
    """Declared argument and result types, by registered name, for decoding to them."""

    types: dict[str, tuple[Sequence[Any] | None, Any]] = field(default_factory=dict)

    def add(self, targets: Iterable[Any]) -> Definitions:
        for target in targets:
            if isinstance(target, str):
                continue
            activity = activity_definition(target)
            if activity is not None and activity.name:
                self.types.setdefault(activity.name, (activity.arg_types, activity.ret_type))
                continue
            workflow = workflow_definition(target)
            if workflow is not None and workflow.name:
                self.types.setdefault(workflow.name, (workflow.arg_types, workflow.ret_type))
        return self

    def arg_hints(self, name: str, count: int) -> list[Any] | None:
        arg_types = self.types.get(name, (None, None))[0]
        return list(arg_types) if arg_types is not None and len(arg_types) == count else None

    def result_hints(self, name: str) -> list[Any] | None:
        ret_type = self.types.get(name, (None, None))[1]
        return None if ret_type is None or ret_type is RawValue else [ret_type]


class Undecoded:
    """A payload the data converter could not decode: shown as its summary."""

    def __init__(self, summary: str) -> None:
        self.summary = summary

    def __repr__(self) -> str:
        return self.summary


@dataclass
class RawCall:
    """A model or tool call before its payloads are decoded."""

    kind: str
    name: str
    call: str
    id: str
    status: str
    failure: str | None
    attempts: int
    attempt_errors: tuple[str, ...]
    time: datetime
    duration: timedelta | None
    workflow_id: str
    input: list[Payload] | None
    output: list[Payload] | None
    #: The first attempt's arguments as the harness recorded them (decoded already).
    recorded_args: tuple[Any, ...] | None = None
    #: A child workflow's run, to read its own history from.
    run_id: str = ""


def raw_calls(history: History, classifier: Classifier) -> list[RawCall]:
    """The model and tool calls of one workflow run, in the order its history records them."""
    attempts = _attempts_by_call(history)
    found: list[tuple[int, RawCall]] = []
    for call in history.parsed.calls:
        kind = classifier.kind(
            call.name, ACTIVITY_CALL if call.kind == ACTIVITY else CHILD_WORKFLOW_CALL
        )
        if kind is not None:
            found.append((call.scheduled_event_id, _from_call(call, kind, history, attempts)))
    local: dict[tuple[str, str], int] = {}  # where each local activity is in ``found``
    for marker in history.parsed.markers:
        event = history.parsed.event(marker.event_id)
        data = _marker_data(marker) if marker.name == LOCAL_ACTIVITY_MARKER else None
        if event is None or data is None:
            continue
        name, ident = str(data.get("activity_type", "")), str(data.get("activity_id", ""))
        kind = classifier.kind(name, LOCAL_ACTIVITY_CALL)
        if kind is None:
            continue
        step = _from_marker(marker, event, data, kind, history, attempts.get((name, ident), []))
        if (name, ident) in local:  # retried after a backoff timer: the same call, ended later
            where, earlier = found[local[name, ident]]
            found[local[name, ident]] = (where, replace(step, time=earlier.time))
            continue
        local[name, ident] = len(found)
        found.append((marker.event_id, step))
    return [step for _, step in sorted(found, key=lambda pair: pair[0])]


def _attempts_by_call(history: History) -> dict[tuple[str, str], list[Any]]:
    """The harness's attempt records of this run (``AttemptHistory.attempts()``), by call."""
    attempts = getattr(history, "attempts", None)
    if not callable(attempts):
        return {}
    grouped: dict[tuple[str, str], list[Any]] = {}
    for record in attempts():
        if record.run_id and history.run_id and record.run_id != history.run_id:
            continue
        grouped.setdefault((record.activity, record.activity_id), []).append(record)
    return {key: sorted(records, key=lambda r: r.attempt) for key, records in grouped.items()}


def _attempt_summary(server_attempt: int, records: Sequence[Any]) -> tuple[int, tuple[str, ...]]:
    count = max([server_attempt, *(r.attempt for r in records)])
    errors = tuple(r.describe() for r in records if r.outcome not in _DONE_ATTEMPT)
    return count, errors


def _from_call(
    call: Call, kind: str, history: History, attempts: Mapping[tuple[str, str], list[Any]]
) -> RawCall:
    failure = summarize_failure(call.failure) if call.failure is not None else None
    if call.status == "completed":
        failure = None
    elif call.start_failed_cause:  # a child that could not start: no failure, a cause
        failure = call.start_failed_cause
    if call.kind == ACTIVITY:
        records = attempts.get((call.name, call.id), [])
        count, errors = _attempt_summary(call.attempt, records)
        how = ACTIVITY_CALL
    else:
        records, count, errors, how = [], int(call.started is not None), (), CHILD_WORKFLOW_CALL
    closed = call.closed_time
    return RawCall(
        kind=kind,
        name=call.name,
        call=how,
        id=call.id,
        status=call.status,
        failure=failure,
        attempts=count,
        attempt_errors=errors,
        time=call.scheduled_time,
        duration=closed - call.scheduled_time if closed is not None else None,
        workflow_id=history.workflow_id,
        input=list(call.input.payloads),
        output=list(call.result.payloads) if call.result is not None else None,
        recorded_args=tuple(records[0].args) if records else None,
        run_id=call.run_id,
    )


def _marker_data(marker: MarkerRecord) -> dict[str, Any] | None:
    payloads = marker.details.get("data")
    if payloads is None or not payloads.payloads:
        return None
    try:
        data = json.loads(payloads.payloads[0].data)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _from_marker(
    marker: MarkerRecord,
    event: HistoryEvent,
    data: dict[str, Any],
    kind: str,
    history: History,
    records: list[Any],
) -> RawCall:
    attrs = event.marker_recorded_event_attributes
    failed = attrs.HasField("failure")
    result = marker.details.get("result")
    count, errors = _attempt_summary(int(data.get("attempt") or 1), records)
    return RawCall(
        kind=kind,
        name=str(data.get("activity_type", "")),
        call=LOCAL_ACTIVITY_CALL,
        id=str(data.get("activity_id", "")),
        status="failed" if failed else "completed",
        failure=summarize_failure(attrs.failure) if failed else None,
        attempts=count,
        attempt_errors=errors,
        time=event.event_time.ToDatetime(),
        duration=None,
        workflow_id=history.workflow_id,
        input=None,
        output=list(result.payloads) if result is not None and not failed else None,
        recorded_args=tuple(records[0].args) if records else None,
    )


async def decode_with_codec(calls: Sequence[RawCall], converter: DataConverter) -> None:
    """Run the converter's payload codec (encryption, compression) over the calls' payloads."""
    codec = converter.payload_codec
    if codec is None:
        return
    for raw in calls:
        if raw.input:
            raw.input = await codec.decode(raw.input)
        if raw.output:
            raw.output = await codec.decode(raw.output)


@dataclass
class StepMaker:
    """Turns raw calls into steps: numbered, timed from ``origin``, payloads decoded."""

    converter: DataConverter
    definitions: Definitions
    origin: datetime

    def steps(self, calls: Sequence[RawCall], prefix: str = "", depth: int = 0) -> list[Step]:
        return [self.step(raw, f"{prefix}{n}", depth) for n, raw in enumerate(calls, 1)]

    def step(self, raw: RawCall, number: str, depth: int) -> Step:
        if raw.input is None:
            args = raw.recorded_args
        else:
            args = tuple(
                self.values(raw.input, self.definitions.arg_hints(raw.name, len(raw.input)))
            )
        result = None
        if raw.output is not None:
            values = self.values(raw.output, self.definitions.result_hints(raw.name))
            result = values[0] if values else None
        name, args, result = as_tool_call(raw.name, args, result)
        return Step(
            number=number,
            kind=raw.kind,
            name=name,
            call=raw.call,
            id=raw.id,
            args=args,
            result=result,
            status=raw.status,
            failure=raw.failure,
            attempts=raw.attempts,
            attempt_errors=raw.attempt_errors,
            time=raw.time - self.origin,
            duration=raw.duration,
            workflow_id=raw.workflow_id,
            depth=depth,
        )

    def values(self, payloads: Sequence[Payload], hints: list[Any] | None) -> list[Any]:
        """The payloads decoded: to ``hints`` if they fit, else as plain values."""
        converter = self.converter.payload_converter
        for attempt in [hints, None] if hints is not None else [None]:
            try:
                return converter.from_payloads(payloads, attempt)
            except Exception:  # noqa: BLE001, S112 - a step is shown even if it cannot decode
                continue
        return [Undecoded(summarize_payloads(Payloads(payloads=[p]))) for p in payloads]
