"""Real event histories: identity, queries, a text timeline, and JSON that keeps the identity."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from ._parse import (
    COMPLETED,
    FAILED,
    TIMED_OUT,
    Call,
    MarkerRecord,
    ParsedEvents,
    SignalRecord,
    TimerRecord,
    UpdateRecord,
    parse_events,
)
from ._text import failure_type, summarize_failure, summarize_payloads
from ._timeline import render_timeline

#: Keys beside ``events`` in a saved history. The SDK's reader (``WorkflowHistory.from_json``,
#: and so its Replayer) ignores keys it does not know; ``temporal workflow show --output json``
#: writes none of them.
WORKFLOW_ID_KEY = "workflowId"
RUN_ID_KEY = "runId"
WORKFLOW_TYPE_KEY = "workflowType"


@dataclass(frozen=True)
class ActivityRecord:
    """One scheduled activity as the history tells it (its final attempt)."""

    name: str
    activity_id: str
    scheduled_event_id: int
    status: str  # scheduled | started | completed | failed | timed_out | canceled
    attempt: int  # the last attempt the server recorded; 0 if none started
    input: str
    result: str | None = None
    failure: str | None = None
    failure_type: str | None = None

    @classmethod
    def of(cls, call: Call) -> ActivityRecord:
        failed = call.status in (FAILED, TIMED_OUT)
        failure = call.failure if call.failure is not None else Failure()
        return cls(
            name=call.name,
            activity_id=call.id,
            scheduled_event_id=call.scheduled_event_id,
            status=call.status,
            attempt=call.attempt,
            input=summarize_payloads(call.input),
            result=summarize_payloads(call.result) if call.status == COMPLETED else None,
            failure=summarize_failure(failure) if failed else None,
            failure_type=failure_type(failure) if failed else None,
        )


@dataclass(frozen=True)
class ChildRecord:
    workflow_type: str
    workflow_id: str
    status: str  # initiated | started | completed | failed | canceled | timed_out | terminated
    initiated_event_id: int

    @classmethod
    def of(cls, call: Call) -> ChildRecord:
        return cls(call.name, call.id, call.status, call.scheduled_event_id)


class History:
    """A workflow's real event history with queries and a text timeline.

    Wraps the SDK's :class:`temporalio.client.WorkflowHistory`; ``raw`` gives it back
    for the SDK's own replayer.

    Args:
        raw: the SDK's history (workflow id and events).
        run_id: the run's id, if known besides the events (a saved history keeps it).
        workflow_type: the workflow type, for events that do not start with
            WorkflowExecutionStarted (a truncated file).
    """

    def __init__(
        self, raw: WorkflowHistory, *, run_id: str | None = None, workflow_type: str | None = None
    ) -> None:
        self.raw = raw
        self._run_id = run_id
        self._workflow_type = workflow_type
        self._parsed: ParsedEvents | None = None

    @property
    def parsed(self) -> ParsedEvents:
        """The events read once: calls paired with their starts and closes, timers, ..."""
        if self._parsed is None:
            self._parsed = parse_events(self.events)
        return self._parsed

    # -- identity ---------------------------------------------------------------
    @property
    def workflow_id(self) -> str:
        return self.raw.workflow_id

    @property
    def run_id(self) -> str:
        """The run's id: the one saved with the history, else the run the events started."""
        if self._run_id:
            return self._run_id
        started = self.parsed.started
        return started.original_execution_run_id if started is not None else ""

    @property
    def events(self) -> Sequence[HistoryEvent]:
        return self.raw.events

    @property
    def workflow_type(self) -> str:
        return self._known_type() or "<unknown>"

    def _known_type(self) -> str | None:
        started = self.parsed.started
        return started.workflow_type.name if started is not None else self._workflow_type

    @property
    def status(self) -> str:
        """``running`` or how the run closed (completed, failed, terminated, ...)."""
        return self.parsed.status

    # -- queries -------------------------------------------------------------------
    def activities(self, name: str | None = None) -> list[ActivityRecord]:
        """Every scheduled activity (optionally only those named ``name``), in order."""
        return [ActivityRecord.of(c) for c in self.parsed.activities if name is None or c.name == name]

    def activity_names(self) -> list[str]:
        """Names of scheduled activities in schedule order (repeats kept)."""
        return [call.name for call in self.parsed.activities]

    def timers(self) -> list[TimerRecord]:
        return list(self.parsed.timers)

    def signals(self, name: str | None = None) -> list[SignalRecord]:
        return [s for s in self.parsed.signals if name is None or s.name == name]

    def updates(self, name: str | None = None) -> list[UpdateRecord]:
        """Every update the workflow accepted or rejected (optionally only ``name``), in order."""
        return [u for u in self.parsed.updates if name is None or u.name == name]

    def markers(self, name: str | None = None) -> list[MarkerRecord]:
        """Every marker (``core_patch`` for workflow.patched, ...), in order."""
        return [m for m in self.parsed.markers if name is None or m.name == name]

    def children(self) -> list[ChildRecord]:
        return [ChildRecord.of(call) for call in self.parsed.children]

    def failure(self) -> str | None:
        """The failure that closed the workflow, if it failed."""
        failure = self.parsed.workflow_failure
        return summarize_failure(failure) if failure is not None else None

    # -- rendering ------------------------------------------------------------------
    def timeline(self, *, workflow_tasks: bool = False, max_events: int | None = 200) -> str:
        """The history as one line per event: number, workflow time offset, event, details.

        Args:
            workflow_tasks: include workflow-task scheduled/started/completed bookkeeping.
            max_events: show at most this many events (first and last halves), or all if None.
        """
        return render_timeline(
            self.events,
            workflow_tasks=workflow_tasks,
            max_events=max_events,
            names=self.parsed.activity_names(),
        )

    def __str__(self) -> str:
        return (
            f"workflow {self.workflow_id} ({self.workflow_type}), status {self.status}\n"
            + self.timeline()
        )

    # -- persistence ----------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """The JSON ``temporal workflow show --output json`` writes, with the identity beside it.

        ``workflowId``, ``runId`` and ``workflowType`` sit next to ``events``: a replay needs
        the real workflow id whenever the workflow derives commands from it (child workflow
        ids, say), and the SDK's reader ignores keys it does not know.
        """
        identity = {
            WORKFLOW_ID_KEY: self.workflow_id,
            RUN_ID_KEY: self.run_id,
            WORKFLOW_TYPE_KEY: self._known_type(),
        }
        return {**{k: v for k, v in identity.items() if v}, **self.raw.to_json_dict()}

    def to_json(self) -> str:
        """:meth:`to_json_dict` as text: what :meth:`save` writes."""
        return json.dumps(self.to_json_dict(), indent=2)

    def save(self, path: str | Path) -> Path:
        """Write the history as JSON, creating directories as needed.

        The format is the one ``temporal workflow show --output json`` writes, plus the
        workflow id, run id and workflow type (see :meth:`to_json_dict`), so that
        :meth:`load` gives back the same identity.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target

    @classmethod
    def from_json(
        cls, workflow_id: str | None, data: str | dict[str, Any], *, default_id: str = ""
    ) -> History:
        """A history from its JSON: what :meth:`save` or ``temporal workflow show`` wrote.

        Args:
            workflow_id: the workflow's id; None for the one the JSON keeps, else ``default_id``.
            data: the JSON, as text or parsed.

        Raises:
            ValueError: the JSON is not a history (from the SDK's reader).
        """
        parsed = json.loads(data) if isinstance(data, str) else data
        saved = parsed if isinstance(parsed, dict) else {}
        workflow_id = workflow_id or _text_value(saved, WORKFLOW_ID_KEY) or default_id
        return cls(
            WorkflowHistory.from_json(workflow_id, parsed),
            run_id=_text_value(saved, RUN_ID_KEY),
            workflow_type=_text_value(saved, WORKFLOW_TYPE_KEY),
        )

    @classmethod
    def load(cls, path: str | Path, workflow_id: str | None = None) -> History:
        """Read a history JSON file.

        The workflow id is ``workflow_id``, else the one the file keeps (:meth:`save` writes
        it), else the file's name without ``.json``, as for ``temporal workflow show`` output.
        """
        path = Path(path)
        return cls.from_json(workflow_id, path.read_text(encoding="utf-8"), default_id=path.stem)


def _text_value(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
