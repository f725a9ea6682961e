"""Replay what a cluster is running: histories selected by a visibility query.

The strongest check of a change is to replay the histories of the workflows production
runs: ``list_workflows(query)`` selects them, each history is fetched, optionally saved (in
the format of recorded histories, so a later run can replay the files), and replayed, in
several processes when there are many (the SDK replays one workflow task at a time per
process). Results come back as :class:`ReplayResult`; :func:`write_junit` turns them into
one JUnit test case per history, so a CI page lists every workflow.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from temporalio.api.history.v1 import History as HistoryProto
from temporalio.client import WorkflowHistory

from .._errors import TemporalConfigError
from ..history import History
from ._engine import ERROR, INVALID, OK, ReplayResult, load_workflow_specs, replay_histories
from ._jobs import Progress, WorkerPool, batches, run_batches

if TYPE_CHECKING:
    from temporalio.client import Client

#: Histories fetched at once: enough to hide the round trips, few enough for any cluster.
FETCH_CONCURRENCY = 8
DEFAULT_LIMIT = 100

BAD_QUERY = """\
The cluster at {address} (namespace {namespace!r}) rejected the visibility query {query!r}: {reason}
Fix the {setting}: e.g. "WorkflowType='MyWorkflow' AND StartTime > '2026-01-01T00:00:00Z'"
(https://docs.temporal.io/list-filter)."""

NOTHING_SELECTED = """\
The visibility query {query!r} selects no workflow on {address} (namespace {namespace!r}).
Fix the {setting} (the workflow type's name, the time range) or the namespace; a workflow
that just started may need a second before visibility lists it."""


def _label(workflow_id: str, run_id: str) -> str:
    return f"{workflow_id}/{run_id}"


async def fetch_histories(
    client: Client,
    query: str,
    *,
    limit: int = DEFAULT_LIMIT,
    setting: str = "--query",
    progress: Progress | None = None,
) -> list[tuple[str, History]]:
    """The histories of the (at most ``limit``) workflows ``query`` selects, as
    ``("<workflow id>/<run id>", History)`` pairs sorted by label (a stable order, so that
    every xdist worker collects the same items).

    Raises:
        TemporalConfigError: the server rejected the query, or it selects nothing; the
            message names ``setting``.
    """
    from temporalio.service import RPCError, RPCStatusCode

    where = {"address": client.service_client.config.target_host, "namespace": client.namespace}
    try:
        executions = [execution async for execution in client.list_workflows(query, limit=limit)]
    except RPCError as err:
        if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNIMPLEMENTED):
            raise TemporalConfigError(BAD_QUERY.format(query=query, reason=err.message, setting=setting, **where)) from None
        raise
    if not executions:
        raise TemporalConfigError(NOTHING_SELECTED.format(query=query, setting=setting, **where))
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)
    done = 0

    async def fetch(workflow_id: str, run_id: str, workflow_type: str) -> tuple[str, History]:
        nonlocal done
        async with gate:
            raw = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        done += 1
        if progress is not None:
            progress("fetched", done, len(executions))
        return _label(workflow_id, run_id), History(raw, run_id=run_id, workflow_type=workflow_type)

    fetched = await asyncio.gather(*(fetch(e.id, e.run_id or "", e.workflow_type) for e in executions))
    return sorted(fetched, key=lambda pair: pair[0])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "workflow"


def save_histories(histories: Sequence[tuple[str, History]], directory: str | Path) -> list[Path]:
    """Write each history as ``DIR/<WorkflowType>/<workflow id>--<run id>.json``, the format
    of recorded histories (``temporal_replay_paths`` and the replay command read them)."""
    paths = []
    for _, history in histories:
        name = f"{_slug(history.workflow_id)}--{_slug(history.run_id)}.json"
        paths.append(history.save(Path(directory) / _slug(history.workflow_type) / name))
    return paths


# -- replaying in several processes --------------------------------------------------------------


def _encode(history: History) -> str:
    return base64.b64encode(HistoryProto(events=history.events).SerializeToString()).decode()


def _decode(workflow_id: str, run_id: str, workflow_type: str, data: str) -> History:
    events = HistoryProto.FromString(base64.b64decode(data)).events
    return History(WorkflowHistory(workflow_id, list(events)), run_id=run_id, workflow_type=workflow_type)


_WORKFLOWS_OF: dict[str, list[type]] = {}


def _replay_chunk(specs: str, chunk: list[tuple[str, str, str, str, str]]) -> list[dict[str, object]]:
    """In a worker process: import the workflows (once), replay a chunk, return plain results."""
    if specs not in _WORKFLOWS_OF:
        # As the CLI's main: the SDK's log of a failed activation is a traceback; the report says it.
        logging.getLogger("temporalio").addHandler(logging.NullHandler())
        _WORKFLOWS_OF[specs] = load_workflow_specs(specs)
    histories = [(label, _decode(wid, rid, wtype, data)) for label, wid, rid, wtype, data in chunk]
    return [result.to_dict() for result in asyncio.run(replay_histories(histories, _WORKFLOWS_OF[specs]))]


async def replay_in_processes(
    histories: Sequence[tuple[str, History]],
    specs: str,
    *,
    jobs: int,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    """Replay ``histories`` against the workflows ``specs`` names, in ``jobs`` processes.

    With ``jobs`` 1, in this process. Workers are spawned fresh (each imports the workflows
    itself: the same check a restarted production worker does). A worker that dies gives its
    histories an ``error`` result naming the cause; the others still count.
    """
    if jobs > 1:
        return await asyncio.to_thread(replay_histories_in_processes, histories, specs, jobs=jobs, progress=progress)
    workflows = load_workflow_specs(specs)
    results: list[ReplayResult] = []
    for batch in batches(len(histories), 1):
        results += await replay_histories([histories[i] for i in batch], workflows)
        if progress is not None:
            progress("replayed", len(results), len(histories))
    return results


def replay_histories_in_processes(
    histories: Sequence[tuple[str, History]],
    specs: str,
    *,
    jobs: int,
    progress: Progress | None = None,
    pool: WorkerPool | None = None,
) -> list[ReplayResult]:
    """:func:`replay_in_processes` with ``jobs`` above 1, blocking (the CLI calls it from
    its main thread, so that Ctrl-C stops the workers at once)."""
    if pool is None:
        with WorkerPool(jobs, f"{__name__}:_replay_chunk") as own:
            return replay_histories_in_processes(histories, specs, jobs=jobs, progress=progress, pool=own)

    def arguments(batch: range) -> tuple[str, list[tuple[str, str, str, str, str]]]:
        return specs, [
            (label, h.workflow_id, h.run_id, h.workflow_type, _encode(h)) for label, h in (histories[i] for i in batch)
        ]

    results: list[ReplayResult] = []
    for batch, outcome in run_batches(pool, len(histories), arguments, progress):
        if outcome.problem:
            results += [worker_failed(*histories[i], outcome.problem, len(batch)) for i in batch]
        else:
            results += [ReplayResult.from_dict(d) for d in outcome.value]
    return results


WORKER_FAILED = """{source} was not replayed: the process replaying its batch of {size} histories {problem}.
Run the command again; if it happens again, replay these histories with -j 1 to find the one
that stops the process."""


def worker_failed(source: str, history: History | None, problem: str, size: int) -> ReplayResult:
    """The result of a history whose worker process died (or raised) before it answered."""
    report = WORKER_FAILED.format(source=source, size=size, problem=problem)
    headline = f"not replayed: the process replaying its batch of {size} {problem}"
    workflow_type = history.workflow_type if history is not None else "?"
    events = len(history.events) if history is not None else 0
    return ReplayResult(
        source=source, workflow_type=workflow_type, status=ERROR, headline=headline, report=report, events=events
    )


# -- JUnit XML ---------------------------------------------------------------------------------------


def write_junit(results: Sequence[ReplayResult], path: str | Path, *, suite: str = "temporal-replay") -> Path:
    """One ``<testcase>`` per history: classname the workflow type, name the history; a
    nondeterministic one is a ``<failure>`` whose text is the readable report, an unreadable
    one (or a workflow code error) an ``<error>``."""
    failures = sum(r.status not in (OK, INVALID, ERROR) for r in results)
    errors = sum(r.status in (INVALID, ERROR) for r in results)
    root = ElementTree.Element("testsuites")
    suite_element = ElementTree.SubElement(
        root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors=str(errors)
    )
    for result in results:
        case = ElementTree.SubElement(suite_element, "testcase", classname=result.workflow_type, name=result.source)
        if not result.ok:
            tag = "error" if result.status in (INVALID, ERROR) else "failure"
            element = ElementTree.SubElement(case, tag, message=result.headline, type=result.status)
            element.text = result.report or result.headline
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target
