"""``trading-agents runs`` and ``show``: the runs a server keeps, and one run's result and
timeline, long after the command that ran it has exited.

The dev server keeps every workflow and its history in the state directory's SQLite file,
so these work on any server that has the file open (a ``server``, ``ui`` or ``run`` in
another terminal, or one started for the command). Results are decoded into the workflow's
own return type when this version knows the workflow, so they print as ``run`` printed them;
the timeline is the plugin's one renderer (``History.timeline``).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowContinuedAsNewError,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)

from pytest_temporal_agents import History

from . import display
from .cluster import CliError
from .runner import describe_workflow
from .workers import all_workflows

NO_RUNS = "no runs on this server yet; start one with `trading-agents run automated`"
FAILED_STATUSES = frozenset(
    {
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.TIMED_OUT,
        WorkflowExecutionStatus.TERMINATED,
        WorkflowExecutionStatus.CANCELED,
    }
)
"""How a run can close without a result: ``show`` exits 1 for them, as ``run`` does."""


def _status(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower().replace("_", " ") if status is not None else "unknown"


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _took(execution: WorkflowExecution) -> str:
    if execution.close_time is None:
        return "-"
    return f"{(execution.close_time - execution.start_time).total_seconds():.1f}s"


async def list_runs(client: Client, limit: int) -> str:
    """The latest ``limit`` runs, newest first: start time, status, time taken, id, type."""
    executions = [execution async for execution in client.list_workflows(limit=limit)]
    if not executions:
        return NO_RUNS
    executions.sort(key=lambda e: e.start_time, reverse=True)
    rows = [
        (_when(e.start_time), _status(e.status), _took(e), e.id, e.workflow_type)
        for e in executions
    ]
    header = ("STARTED", "STATUS", "TOOK", "WORKFLOW ID", "TYPE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
        for row in [header, *rows]
    )


def _return_types() -> dict[str, Any]:
    """Workflow type name -> its run method's return type, for every workflow this knows."""
    types: dict[str, Any] = {}
    for cls in all_workflows():
        definition = workflow._Definition.must_from_class(cls)
        if definition.name is not None:
            types[definition.name] = typing.get_type_hints(definition.run_fn).get("return")
    return types


@dataclass(frozen=True)
class ShownRun:
    """What ``show`` prints, and whether the run failed."""

    text: str
    failed: bool


async def show_run(
    client: Client,
    workflow_id: str,
    run_id: str | None,
    link: Callable[[str, str | None], str | None],
    html: str | None = None,
) -> ShownRun:
    """One run (the latest of ``workflow_id`` unless ``run_id``): status, result, timeline;
    with ``html``, also the plugin's HTML report of the run, written to that path.

    Raises:
        CliError: no such workflow (or run) on the server, or the report cannot be written.
    """
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    description = await describe_workflow(handle, client.namespace)
    run_id = description.run_id
    lines = [
        f"{workflow_id} ({description.workflow_type}): {_status(description.status)}",
        f"  run:     {run_id}",
        f"  started: {_when(description.start_time)}"
        + (f", closed {_when(description.close_time)}" if description.close_time else ""),
    ]
    url = link(workflow_id, run_id)
    if url:
        lines.append(f"  Web UI:  {url}")
    failed = description.status in FAILED_STATUSES
    if description.status == WorkflowExecutionStatus.RUNNING:
        lines.append("Result: none yet (still running)")
    else:
        result_type = _return_types().get(description.workflow_type)
        typed = client.get_workflow_handle(workflow_id, run_id=run_id, result_type=result_type)
        try:
            result = await typed.result(follow_runs=False)
        except WorkflowContinuedAsNewError as error:
            lines.append(f"Result: none; continued as new in run {error.new_execution_run_id}")
        except WorkflowFailureError as error:
            lines.append("Failure:")
            lines.extend(_indented(display.failure_summary(error.cause or error)))
        else:
            lines.append("Result:" if result is not None else "Result: none")
            if result is not None:
                lines.extend(_indented(display.result_summary(result)))
    history = History(await handle.fetch_history(), run_id=run_id)
    lines.append(f"Timeline ({len(history.events)} events):")
    lines.extend(_indented(history.timeline()))
    if html is not None:
        lines.append(f"HTML report: {_write_html(history, html, workflow_id)}")
    return ShownRun("\n".join(lines), failed)


def _write_html(history: History, path: str, workflow_id: str) -> str:
    from pytest_temporal_agents.report import write_workflow_report

    try:
        return str(write_workflow_report([history], path, title=f"trading-agents: {workflow_id}"))
    except OSError as error:
        raise CliError(
            f"could not write the HTML report to {path!r}: {error.strerror or error}. "
            "Give --html a file path in a writable directory."
        ) from None


def _indented(text: str) -> list[str]:
    return [f"  {line}" for line in text.splitlines()]
