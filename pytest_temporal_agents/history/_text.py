"""Short, human-readable text for the parts of events: names, payloads, failures, offsets."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent


def event_name(event: HistoryEvent) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled``."""
    raw = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in raw.split("_"))


def summarize_payloads(payloads: Payloads | None, limit: int = 80) -> str:
    """A short, human-readable rendering of payloads (JSON shown as JSON)."""
    if payloads is None or not payloads.payloads:
        return ""
    parts = []
    for payload in payloads.payloads:
        encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
        if encoding == "binary/null":
            parts.append("None")
        elif encoding.startswith("json"):
            parts.append(payload.data.decode(errors="replace"))
        else:
            parts.append(f"<{encoding or 'unknown'} {len(payload.data)} bytes>")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_failure(failure: Failure) -> str:
    """``message [type]`` for a failure and each of its causes, joined by ``<-``."""
    parts = []
    current: Failure | None = failure
    while current is not None and (current.message or current.ByteSize()):
        label = ""
        if current.HasField("application_failure_info"):
            info = current.application_failure_info
            label = info.type or "ApplicationError"
            if info.non_retryable:
                label += ", non-retryable"
        elif current.HasField("timeout_failure_info"):
            label = TimeoutType.Name(current.timeout_failure_info.timeout_type).removeprefix(
                "TIMEOUT_TYPE_"
            )
        elif current.HasField("canceled_failure_info"):
            label = "canceled"
        elif current.HasField("terminated_failure_info"):
            label = "terminated"
        elif current.HasField("activity_failure_info"):
            label = "activity " + current.activity_failure_info.activity_type.name
        elif current.HasField("child_workflow_execution_failure_info"):
            label = "child " + current.child_workflow_execution_failure_info.workflow_type.name
        parts.append(f"{current.message} [{label}]" if label else current.message)
        current = current.cause if current.HasField("cause") else None
    return " <- ".join(parts)


def failure_type(failure: Failure) -> str | None:
    """The most specific failure type: application type or timeout type, searching causes."""
    current: Failure | None = failure
    while current is not None:
        if current.HasField("application_failure_info"):
            return current.application_failure_info.type or "ApplicationError"
        if current.HasField("timeout_failure_info"):
            return TimeoutType.Name(current.timeout_failure_info.timeout_type)
        current = current.cause if current.HasField("cause") else None
    return None


def format_offset(delta: timedelta) -> str:
    """``+0.012s``, ``+42s``, ``+3m05s``, ``+2h00m``, ``+30d00h``: short and sortable by eye."""
    seconds = delta.total_seconds()
    if seconds < 10:
        return f"+{seconds:.3f}s"
    if seconds < 60:
        return f"+{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"+{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"+{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"+{days}d{hours:02d}h"
