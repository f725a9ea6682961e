"""Start, share and stop server environments.

Nothing here ever downloads: the SDK's own download path fails offline, so every
environment is started from a binary that a pip package put on this machine.
This module does not import pytest (the plugin turns its errors into pytest errors), and
imports temporalio only when it starts something: the plugin builds its pool at configure.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .._errors import ServerDiedError, TemporalAgentsWarning
from ._binaries import LOCAL, TIME_SKIPPING, ServerConfig, find_binary
from ._launcher import Launcher, guarded

if TYPE_CHECKING:
    from temporalio.runtime import Runtime
    from temporalio.testing import WorkflowEnvironment

T = TypeVar("T")

#: Dynamic configuration for the dev server, for sessions of many small tests, each on a
#: task queue of its own. Measured with benchmarks/long_session.py (1,000 tests): the
#: server grew by 2,364 MB with the defaults. What each flag takes away:
#:
#: - ``metrics.breakdownByTaskQueue=false``: the server keeps metric series per task queue
#:   name for good, so every test's queue left its series behind; without the breakdown,
#:   the queue label is one constant.
#: - one partition per task queue: partitions spread a busy queue over matching hosts; a
#:   test's queue is never busy, and each partition holds matching state.
#: - ``matching.MaxTaskQueueIdleTime`` 10 s (default 5 min): a queue with no poller and no
#:   task for 10 s is unloaded from memory, not kept for minutes after its test; its tasks
#:   stay in the database and a later poll loads it again.
DEV_SERVER_ARGS = (
    "--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
    "--dynamic-config-value", 'matching.MaxTaskQueueIdleTime="10s"',
    "--dynamic-config-value", "metrics.breakdownByTaskQueue=false",
)

#: The dev server's database when the user names none (``--temporal-dev-server-db``): a
#: file in the session's temporary launch directory (removed at exit) rather than the dev
#: server's default in-memory SQLite, whose every stored workflow stays in the server's
#: memory (about 0.1 MB a test, +230 MB over 1,000 tests). The file is a scratch store
#: that dies with the session, so it is written without waiting for the disk.
SESSION_DATABASE = "dev-server.sqlite3"
SESSION_DATABASE_ARGS = (
    "--sqlite-pragma", "journal_mode=wal",
    "--sqlite-pragma", "synchronous=off",
)

#: The dev server's Go garbage collector target (GOGC, default 100: the heap may double
#: before a collection). A session's server is mostly idle between small bursts, so a
#: tighter target costs little CPU and keeps its memory close to what it holds. A GOGC the
#: user set wins.
DEV_SERVER_GOGC = "25"


#: How far past the wall clock a time-skipping server's clock may run before the pool
#: replaces the server. Its clock only moves forward, and a test that waits for a workflow
#: while time skips can move it ten years on (the Java test server skips to its next timer,
#: here a finished workflow's ten-year default run timeout); the clock probe adds a day. Past
#: the year 9999 no timestamp fits and workflows hang: in benchmarks/long_session.py the
#: shared server reached it after about 865 tests, failing a test that did nothing wrong.
#: 5,000 years leaves room for about 300 more ten-year jumps within any one test.
CLOCK_HORIZON = timedelta(days=365 * 5000)

#: Tests that start workflows on one time-skipping server before the pool replaces it. The
#: Java test server keeps every workflow it ran, and each costs a little more than the one
#: before: measured side by side with a fresh server (one process, tests alternating
#: between the two), the 900th test cost 1.15x. A fresh server starts in about 0.1 s, the
#: time of two or three small tests; every 200 tests it adds about 1 % and keeps the cost
#: (and the server's memory) where it was at the start.
SERVER_TESTS = 200


def dev_server_environment() -> dict[str, str]:
    """Variables for the dev server process (see :data:`DEV_SERVER_GOGC`)."""
    return {} if "GOGC" in os.environ else {"GOGC": DEV_SERVER_GOGC}


def quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors.

    The Java test server does not advertise newer server capabilities, and the SDK core
    warns about that once per worker: noise in every test's captured output.
    """
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )


def _launch_directory() -> Path:
    """A temporary directory for launchers and logs, removed when this process exits."""
    directory = Path(tempfile.mkdtemp(prefix="pta-server-"))
    atexit.register(shutil.rmtree, directory, True)
    return directory


async def start_environment(
    config: ServerConfig, runtime: Runtime, *, directory: Path | None = None
) -> WorkflowEnvironment:
    """Start (or connect to) the environment ``config`` names.

    A started server runs through :func:`write_launcher` (it dies with this process and
    listens on loopback only); its launcher script and log go into ``directory``
    (default: a temporary directory removed at exit).
    """
    env, _ = await start_guarded(config, runtime, directory=directory)
    return env


async def start_guarded(
    config: ServerConfig, runtime: Runtime, *, directory: Path | None = None
) -> tuple[WorkflowEnvironment, Launcher | None]:
    """:func:`start_environment`, also returning the server's launcher (None: external)."""
    from temporalio.testing import WorkflowEnvironment

    if config.env == TIME_SKIPPING:
        binary = find_binary(TIME_SKIPPING, config.test_server_path)
        path, launcher = guarded(binary, directory or _launch_directory(), loopback=True)
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(path), runtime=runtime)
        return env, launcher
    if config.env == LOCAL:
        binary = find_binary(LOCAL, config.cli_path)
        directory = directory or _launch_directory()
        path, launcher = guarded(binary, directory, environment=dev_server_environment())
        database, extra = config.dev_server_db, list(DEV_SERVER_ARGS)
        if database is None:
            database, extra = str(directory / SESSION_DATABASE), extra + list(SESSION_DATABASE_ARGS)
        env = await WorkflowEnvironment.start_local(
            namespace=config.namespace,
            ip="127.0.0.1",
            dev_server_existing_path=str(path),
            dev_server_database_filename=database,
            dev_server_extra_args=extra,
            runtime=runtime,
        )
        return env, launcher
    from ._envconfig import connect, resolve_connection

    # Our settings over TEMPORAL_* and the environment-configuration profile (the SDK's loader).
    client = await connect(resolve_connection(config), runtime)
    return WorkflowEnvironment.from_client(client), None


SERVER_DIED = """\
the {server} (pid {pid}) died during this session, before or while this test ran; \
{restart}. Its last log lines:
{tail}"""

RESTARTED = "it is restarted for the later tests"
NOT_AGAIN = "it had died once already in this session, so it is not restarted again"


#: Pause after a server shutdown before the interpreter may exit. temporalio 1.35's core
#: finishes the shutdown on its own threads; an interpreter that exits at once aborts or
#: segfaults about half the time (measured: 13 of 20 runs). 20 ms was enough in 60 of 60.
SHUTDOWN_SETTLE_SECONDS = 0.1


async def stop_environment(env: WorkflowEnvironment) -> None:
    """Shut an environment down and let the SDK core finish before anyone exits."""
    try:
        await env.shutdown()
    finally:
        await asyncio.sleep(SHUTDOWN_SETTLE_SECONDS)


def run_in_fresh_loop(factory: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
    """Run a coroutine to completion on a private event loop in a helper thread.

    Used from synchronous pytest hooks: the test's own loop may exist but is not
    running, and ``asyncio.run`` in this thread would unset it. A Temporal client
    works from any loop, so a private one is safe.
    """
    result: list[T] = []
    error: list[BaseException] = []

    async def _main() -> T:
        return await factory()

    def _target() -> None:
        try:
            result.append(asyncio.run(_main()))
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(err)

    thread = threading.Thread(target=_target, name="pytest-temporal-agents", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"gave up after {timeout} s")
    if error:
        raise error[0]
    return result[0]


class ServerPool:
    """Session-wide environments, one per distinct config, started lazily on first use.

    One pool lives per pytest process, so each xdist worker has servers of its own. Tests
    with a start time get a time-skipping server apart from the shared one (see
    :mod:`._dated`), so that no other test's clock moves.
    """

    def __init__(self) -> None:
        self._envs: dict[ServerConfig, WorkflowEnvironment] = {}
        #: The time-skipping server of the tests with a ``start_time``, per config.
        self._dated: dict[ServerConfig, WorkflowEnvironment] = {}
        self._failures: dict[ServerConfig, BaseException] = {}
        self._launchers: dict[ServerConfig, Launcher] = {}
        #: Configs whose server died once (and was restarted): a second death is final.
        self._died: set[ServerConfig] = set()
        #: Tests each time-skipping server served; a replaced server's count goes with it.
        self._served: weakref.WeakKeyDictionary[WorkflowEnvironment, int] = weakref.WeakKeyDictionary()
        self._directory: Path | None = None
        self._runtime: Runtime | None = None

    def _next_directory(self) -> Path:
        """A fresh subdirectory of the pool's temporary one, for one server's launcher and log."""
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="pta-servers-"))
        return Path(tempfile.mkdtemp(dir=self._directory))

    def launcher(self, config: ServerConfig) -> Launcher | None:
        """The launcher of the running shared server for ``config`` (None: none, or external)."""
        return self._launchers.get(config)

    def alive(self, config: ServerConfig) -> bool:
        """False if the shared server for ``config`` was started here and has died since."""
        launcher = self._launchers.get(config)
        return launcher is None or launcher.server_alive()

    async def check_alive(self, config: ServerConfig) -> None:
        """Raise ServerDiedError if the shared server for ``config`` has died.

        The first death drops the dead server, so the next request starts a new one; a
        second death fails every later request at once, with the same message.
        """
        launcher = self._launchers.get(config)
        if launcher is None or launcher.server_alive():
            return
        env = self._envs.pop(config)
        del self._launchers[config]
        again = config in self._died
        self._died.add(config)
        tail = launcher.log_tail()
        error = ServerDiedError(SERVER_DIED.format(
            server=config.describe(), pid=launcher.server_pid(),
            restart=NOT_AGAIN if again else RESTARTED,
            tail="\n".join(f"    {line}" for line in tail) or "    (the log is empty)",
        ))
        if again:
            self._failures[config] = error
        with contextlib.suppress(Exception):
            await stop_environment(env)  # the SDK's side of the dead server
        raise error

    async def check_clock(self, config: ServerConfig, after: str, *, dated: bool = False) -> bool:
        """After test ``after``, check that a time-skipping server still skips time.

        A server whose clock a test broke (a leaked time-skipping lock, see
        :mod:`._clock_probe`) is dropped, so the next test gets a fresh one, and a warning
        names the test. Returns whether the clock was fine. With ``dated``, the server of
        the tests with a start time is checked; the shared one is left alone (the probe
        moves a server's clock a day on).
        """
        if not dated:
            await self.check_alive(config)
        envs = self._dated if dated else self._envs
        env = envs.get(config)
        if env is None or config.env != TIME_SKIPPING:
            return True
        from ._clock_probe import time_still_skips

        # Both at once: a day more or less does not matter to a 5,000-year horizon.
        skips, server_now = await asyncio.gather(time_still_skips(env.client), env.get_current_time())
        if skips:
            self._served[env] = self._served.get(env, 0) + 1
            if self._served[env] >= SERVER_TESTS or server_now - datetime.now(timezone.utc) > CLOCK_HORIZON:
                # Not the test's fault, so no warning: a fresh server for the next test.
                await self._drop(envs, config, env, dated=dated)
            return True
        warnings.warn(
            TemporalAgentsWarning(
                f"pytest-temporal-agents: after {after}, the time-skipping server no longer "
                "skips time: the test left a time-skipping lock in the Java test server (for "
                "example by ending a workflow while one of its tasks was in flight). "
                "The next test gets a fresh server."
            ),
            stacklevel=2,
        )
        await self._drop(envs, config, env, dated=dated)
        return False

    async def _drop(
        self, envs: dict[ServerConfig, WorkflowEnvironment], config: ServerConfig,
        env: WorkflowEnvironment, *, dated: bool,
    ) -> None:
        """Stop a time-skipping server and forget it: the next request starts a fresh one."""
        del envs[config]
        if not dated:
            self._launchers.pop(config, None)
        await env.shutdown()

    async def get(self, config: ServerConfig, *, start_time: datetime | None = None) -> WorkflowEnvironment:
        """The running environment for ``config``; starts it on first call.

        A start that failed fails every later request the same way, at once,
        instead of retrying a broken server for each test.

        With ``start_time``: the dated time-skipping server (not the shared one), its clock
        moved to ``start_time``: skipped forward, or a fresh server for an earlier time.

        Raises:
            TemporalConfigError: a start time on a server without time skipping, or before
                the wall clock without libfaketime.
        """
        if start_time is not None:
            return await self._dated_env(config, start_time)
        await self.check_alive(config)
        if config in self._envs:
            return self._envs[config]
        if config in self._failures:
            raise self._failures[config]
        if self._runtime is None:
            self._runtime = quiet_runtime()
        try:
            env, launcher = await start_guarded(config, self._runtime, directory=self._next_directory())
        except BaseException as err:
            self._failures[config] = err
            raise
        self._envs[config] = env
        if launcher is not None:
            self._launchers[config] = launcher
        return env

    async def _dated_env(self, config: ServerConfig, start_time: datetime) -> WorkflowEnvironment:
        from ._dated import check_dated_config, move_to, start_dated

        check_dated_config(config, start_time)
        env = self._dated.pop(config, None)
        if env is not None:
            if await move_to(env, start_time):
                self._dated[config] = env
                return env
            await stop_environment(env)  # its clock is past the start time: a fresh one
        if self._runtime is None:
            self._runtime = quiet_runtime()
        self._dated[config] = await start_dated(config, self._runtime, start_time, self._next_directory())
        return self._dated[config]

    @property
    def started(self) -> list[ServerConfig]:
        return list(self._envs)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every environment this pool started (safe to call twice)."""
        envs = [*self._envs.values(), *self._dated.values()]
        self._envs, self._dated, self._launchers = {}, {}, {}
        directory, self._directory = self._directory, None
        try:
            if envs:
                self._stop_all(envs, timeout)
        finally:
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    @staticmethod
    def _stop_all(envs: list[WorkflowEnvironment], timeout: float) -> None:
        async def _stop_all() -> None:
            await asyncio.gather(*(stop_environment(env) for env in envs), return_exceptions=True)

        run_in_fresh_loop(_stop_all, timeout=timeout)
