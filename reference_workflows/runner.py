"""What ``trading-agents run``, ``approve`` and ``history`` do once connected to a server.

``run`` starts the pattern's workflow with local workers, follows it (a progress query, the
event history, or a chat relayed through signals and queries) and prints its result; the
server it runs on comes from :mod:`.cluster`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError, RPCStatusCode

from . import display
from .activities import MARKET_DATA_TASK_QUEUE, TRADING_TASK_QUEUE, create_services
from .agents import Reasoner
from .cluster import CliError, Cluster
from .patterns import APPROVAL, CHAT, Pattern
from .workers import running_analyst, running_workers

PROGRESS_INTERVAL = 0.1
"""Seconds between progress queries: fast enough to see each agent step of a local run."""
QUERY_TIMEOUT = 2.0
"""Seconds one progress query may take before the display moves on without its answer."""
FINAL_QUERY_RETRIES = 2
"""Times the round after the workflow closed asks again for an answer it did not get."""


@contextmanager
def worker_logs_to(path: Path) -> Iterator[None]:
    """Send the SDK's Python-side log records (activity failures, retries) to ``path``.

    A failing activity is often the point of a pattern (the saga's compensation, a down
    exchange); its warning and traceback belong in a log, not in the progress display.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("temporalio")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.propagate, logger.level = saved


# --------------------------------------------------------------------------- progress


class Console:
    """Writes the run's lines, progress lines prefixed by the seconds since the start."""

    def __init__(self, write: Callable[[str], Any] | None = None) -> None:
        self._write = write or (lambda text: print(text, flush=True))
        self._start = time.monotonic()

    def say(self, text: str) -> None:
        self._write(text)

    def prompt(self, text: str) -> None:
        print(text, end="", flush=True)

    def progress(self, text: str) -> None:
        self._write(f"  [{time.monotonic() - self._start:5.1f}s] {text}")


async def follow_queries(
    handle: WorkflowHandle[Any, Any],
    pattern: Pattern,
    done: asyncio.Future[Any],
    console: Console,
    interval: float = PROGRESS_INTERVAL,
) -> None:
    """Print a line each time a progress query's answer changes, until ``done`` and once after.

    The last round runs after the workflow closed: a closed workflow still answers queries,
    so the display always ends on its final state, however fast it ran.
    """
    queries = [(name, pattern.progress_query(name)) for name in pattern.progress_queries]
    last: dict[str, str] = {}
    while True:
        finished = done.done()
        for name, query in queries:
            answered, value = await _ask(handle, query, None if finished else done)
            for _ in range(FINAL_QUERY_RETRIES if finished and not answered else 0):
                # The last answer is the one the display must not miss. A query that reaches
                # the worker while it evicts the just-closed run can expire there ("query task
                # not found"); asked again, the closed workflow answers from its history.
                await asyncio.sleep(interval)
                answered, value = await _ask(handle, query, None)
                if answered:
                    break
            if not answered:
                continue  # not answerable yet (or any more): the next round will tell
            if pattern.format_progress is not None:
                line = pattern.format_progress(value)
            else:
                line = display.progress_line(name, value)
            if last.get(name) != line:
                last[name] = line
                console.progress(line)
        if finished:
            return
        await asyncio.wait([done], timeout=interval)


async def _ask(
    handle: WorkflowHandle[Any, Any], query: Callable[..., Any], done: asyncio.Future[Any] | None
) -> tuple[bool, Any]:
    """``(True, answer)`` of one query, or ``(False, None)`` if it failed, took longer than
    ``QUERY_TIMEOUT``, or ``done`` settled first.

    A query sent while the workflow's first task is in flight waits for that task; if the task
    closes the workflow, the server can hold the query for seconds. The display must not.
    """
    asking = asyncio.ensure_future(handle.query(query))
    waiting: set[asyncio.Future[Any]] = {asking} if done is None else {asking, done}
    try:
        await asyncio.wait(waiting, timeout=QUERY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # Ctrl-C: end the query here. Left running, it failed ("context canceled") while
        # asyncio.run shut down, which printed its traceback after "Interrupted; ...".
        asking.cancel()
        await asyncio.wait({asking})
        if not asking.cancelled():
            asking.exception()  # retrieved: an answer or a failure nobody needs now
        raise
    if not asking.done():
        asking.cancel()
        return False, None
    try:
        return True, asking.result()
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
        return False, None


async def follow_events(
    client: Client, workflow_id: str, run_id: str | None, console: Console
) -> None:
    """Narrate the workflow's history as it grows (long-polling the server), across
    continue-as-new, until the last run closes."""
    narrator = display.EventNarrator()
    while run_id is not None:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        next_run: str | None = None
        async for event in handle.fetch_history_events(wait_new_event=True):
            line = narrator.describe(event)
            if line:
                console.progress(line)
            if event.HasField("workflow_execution_continued_as_new_event_attributes"):
                next_run = (
                    event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                )
        run_id = next_run


async def chat(
    handle: WorkflowHandle[Any, Any],
    messages: Sequence[str],
    console: Console,
    done: asyncio.Future[Any] | None = None,
) -> None:
    """Relay a conversation: each message is a signal, each reply read back by query.

    ``messages`` are sent in order; without any, lines are read from standard input until an
    empty line or end of input. Then the ``end`` signal lets the workflow finish. ``done`` is
    the workflow's result: once it is settled (the workflow failed), the chat stops.
    """
    from .workflows.agents import LongRunningAgentWorkflow

    if not messages:
        console.say("Type a message (a ticker like $MSFT switches symbol); an empty line ends.")
    source = _aiter(messages) if messages else _stdin_lines(console)
    sent = 0
    async for text in source:
        if messages:
            console.say(f"you> {text}")
        await handle.signal(LongRunningAgentWorkflow.send_message, text)
        sent += 1
        reply = await _reply(handle, LongRunningAgentWorkflow, sent, done)
        if reply is None:
            return  # the workflow ended on its own; its result says how
        console.say(f"agent> {reply}")
    await handle.signal(LongRunningAgentWorkflow.end)


async def _reply(
    handle: WorkflowHandle[Any, Any],
    workflow: Any,
    answered: int,
    done: asyncio.Future[Any] | None,
) -> str | None:
    """The agent's reply once ``answered`` user messages have been answered in total
    (None if the workflow closes first)."""
    while done is None or not done.done():
        try:
            view = await handle.query(workflow.conversation)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
            view = None  # between runs of a continue-as-new: ask again
        if view is not None and view.summary.total_messages >= answered and not view.pending:
            replies = [m.text for m in view.messages if m.role == "agent"]
            if replies and view.messages[-1].role == "agent":
                return str(replies[-1])
        await asyncio.sleep(PROGRESS_INTERVAL)
    return None


async def _aiter(items: Sequence[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def _stdin_lines(console: Console) -> AsyncIterator[str]:
    """Lines typed on standard input until an empty one or end of input.

    Read by a daemon thread: a thread blocked in ``readline`` must not keep Ctrl-C from
    ending the process (asyncio waits for its own executor's threads at exit).
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        line = sys.stdin.readline()
        loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n") if line else None)

    while True:
        if sys.stdin.isatty():
            console.prompt("you> ")
        threading.Thread(target=read, name="trading-agents-stdin", daemon=True).start()
        text = await lines.get()
        if not text or not text.strip():
            return
        yield text.strip()


# --------------------------------------------------------------------------- commands


def new_workflow_id(pattern: Pattern, workflow_input: Any) -> str:
    """``<pattern>-<symbol>-<8 hex>``: readable in the Web UI, unique per run."""
    symbol = getattr(workflow_input, "symbol", None)
    symbols = getattr(workflow_input, "symbols", None)
    subject = symbol or ("-".join(symbols[:3]) if symbols else "")
    parts = [pattern.name, str(subject).upper(), uuid.uuid4().hex[:8]]
    return "-".join(part for part in parts if part)


async def run_pattern(
    cluster: Cluster,
    pattern: Pattern,
    workflow_input: Any,
    console: Console,
    messages: Sequence[str] = (),
    workflows: Sequence[type] | None = None,
    reasoner: Reasoner | None = None,
) -> int:
    """Run ``pattern`` with a local worker, showing progress; 0 if it completed, 1 if it failed.

    ``messages`` are a chat pattern's user messages (none: read them from standard input).
    ``workflows`` are the classes the worker registers: by default every pattern's, so that
    this worker also moves on any other workflow left waiting on the server. ``reasoner``
    makes the agents' decisions (default: the rule-based one). A pattern that needs a model
    (the analyst) also gets the analyst's worker, and is started and followed through its
    plugin's client.
    """
    workflow_id = new_workflow_id(pattern, workflow_input)
    cluster.state.ledger.parent.mkdir(parents=True, exist_ok=True)
    services = create_services(ledger_path=cluster.state.ledger, reasoner=reasoner)
    async with (
        running_workers(
            cluster.client,
            ledger_path=cluster.state.ledger,
            workflows=workflows,
            activities=services.activities(),
        ),
        AsyncExitStack() as stack,
    ):
        client = cluster.client
        if pattern.needs_model:
            client = await stack.enter_async_context(running_analyst(client, services.agents))
        handle = await client.start_workflow(
            pattern.run_method, workflow_input, id=workflow_id, task_queue=pattern.task_queue
        )
        console.say(f"Started {pattern.name} workflow {workflow_id}")
        console.say(f"  on {cluster.describe()}")
        link = cluster.link(workflow_id, handle.result_run_id)
        if link:
            console.say(f"  Web UI: {link}")
        if pattern.interaction == APPROVAL:
            command = f"trading-agents approve {workflow_id}{cluster.connection_args()}"
            console.say("Waiting for a decision. From another terminal:")
            console.say(f"  approve: {command}")
            console.say(f"  reject:  {command} --reject --reason '...'")
        result_task: asyncio.Future[Any] = asyncio.ensure_future(handle.result())
        latest = client.get_workflow_handle(workflow_id)  # follows continue-as-new
        try:
            if pattern.interaction == CHAT:
                await chat(latest, messages, console, result_task)  # replies are the progress
            elif pattern.progress_queries:
                await follow_queries(latest, pattern, result_task, console)
            else:
                await follow_events(client, workflow_id, handle.result_run_id, console)
            result = await result_task
        except WorkflowFailureError as error:
            console.say(f"Workflow {workflow_id} failed:")
            console.say(_indent(display.failure_summary(error.cause or error)))
            if link:
                console.say(f"Web UI: {link}")
            return 1
        finally:
            result_task.cancel()
    console.say(display.result_summary(result))
    if link:
        console.say(f"Web UI: {link}")
    return 0


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


async def serve_forever() -> None:
    """Wait until Ctrl-C (which cancels this task and unwinds every context above it)."""
    await asyncio.Event().wait()


def describe_queues() -> str:
    """The task queues a worker serves, for the ``worker`` command's banner."""
    return (
        f"{TRADING_TASK_QUEUE} (workflows and all activities), "
        f"{MARKET_DATA_TASK_QUEUE} (market data)"
    )


async def send_approval(
    client: Client, workflow_id: str, *, approved: bool, approver: str, reason: str
) -> None:
    """Signal an approval workflow that is waiting.

    Raises:
        CliError: no such workflow, it is not an approval workflow, or it is no longer waiting.
    """
    from .workflows.event_driven import ApprovalDecision, TradeApprovalWorkflow

    handle = client.get_workflow_handle(workflow_id)
    description = await describe_workflow(handle, client.namespace)
    expected = TradeApprovalWorkflow.__name__
    if description.workflow_type != expected:
        raise CliError(
            f"workflow {workflow_id!r} is a {description.workflow_type}, not an approval "
            f"workflow ({expected}); start one with `trading-agents run approval`"
        )
    if description.status != WorkflowExecutionStatus.RUNNING:
        status = description.status.name.lower() if description.status else "closed"
        raise CliError(f"workflow {workflow_id!r} is {status}; it no longer waits for a decision")
    await handle.signal(
        TradeApprovalWorkflow.approve,
        ApprovalDecision(approved=approved, approver=approver, reason=reason),
    )


async def save_history(client: Client, workflow_id: str, out: Path) -> int:
    """Write the workflow's event history as JSON (as ``temporal workflow show -o json``).

    Returns:
        The number of events written.
    """
    handle = client.get_workflow_handle(workflow_id)
    await describe_workflow(handle, client.namespace)
    history = await handle.fetch_history()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(history.to_json())
    return len(history.events)


async def describe_workflow(handle: WorkflowHandle[Any, Any], namespace: str) -> Any:
    try:
        return await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CliError(
                f"no workflow {handle.id!r} in namespace {namespace!r} on this server; "
                "`trading-agents runs` lists the runs it has"
            ) from error
        raise CliError(f"could not look up workflow {handle.id!r}: {error.message}") from error
