"""Which external cluster to connect to, and how: our settings over Temporal's own.

Teams already have their connection settings where the ``temporal`` CLI reads them: the
``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` / ``TEMPORAL_API_KEY`` / ``TEMPORAL_TLS_*``
environment variables and the profiles of the environment-configuration TOML file
(``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``). temporalio reads them with
``temporalio.envconfig``; we use that loader rather than a copy of its rules, and lay the
settings a user gave *us* (command line, then ini) over what it found. So the precedence is:
command line > ini > environment variables > profile in the TOML file > defaults.

Secrets (the API key, a client private key, gRPC metadata) never appear in a ``repr``, a
description or an error message: every message built here goes through :func:`scrub`.

temporalio (and its native bridge) is imported inside the functions only: the plugin
resolves its settings while pytest configures every run, Temporal or not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import TemporalConfigError
from ._binaries import ServerConfig

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.runtime import Runtime
    from temporalio.service import TLSConfig

#: The environment variables the loader reads that say where the cluster is.
ADDRESS_VAR = "TEMPORAL_ADDRESS"
PROFILE_VAR = "TEMPORAL_PROFILE"
CONFIG_FILE_VAR = "TEMPORAL_CONFIG_FILE"

NO_ADDRESS = """\
No Temporal cluster is named: neither {address_flag}, TEMPORAL_ADDRESS nor the environment
configuration profile {profile!r} gives an address.
Fix: export TEMPORAL_ADDRESS=HOST:PORT, add `address = "HOST:PORT"` to the profile
(`temporal config set --prop address --value HOST:PORT`), or pass {address_flag}=HOST:PORT."""

MISSING_CONFIG_FILE = """\
{var} names the environment configuration file {path!r}, which does not exist.
Fix the path, or unset {var} to use the default file (~/.config/temporalio/temporal.toml)."""

BAD_PROFILE = """\
The Temporal environment configuration could not be loaded ({where}): {problem}.
Fix: {fix}"""

UNREADABLE_TLS = """\
Cannot read the file named by {source}: {path!r} ({reason}); it should hold the TLS {what} (PEM).
Fix the path, or remove the setting."""

UNREACHABLE = """\
Could not connect to the Temporal cluster at {address!r} (namespace {namespace!r}, {tls}): {reason}
{fix}"""

FIX_UNREACHABLE = (
    "Check that the cluster is running and that {address_source} names it (a cluster that "
    "wants TLS needs TEMPORAL_TLS=true or {tls_flag})."
)
FIX_TLS = (
    "The TLS handshake failed: check the client certificate and key ({cert_source}), that "
    "they have not expired, and the server CA ({ca_source}); a cluster without TLS needs "
    "TEMPORAL_TLS=false or no TLS settings."
)
UNKNOWN_NAMESPACE = """\
Namespace {namespace!r} does not exist on the Temporal cluster at {address!r} (namespace from {source}).
Fix: create it (`temporal operator namespace create --namespace {namespace} --address {address}`)
or choose another with --temporal-namespace / TEMPORAL_NAMESPACE."""

#: Words in the SDK's connection errors that mean the network, not a TLS handshake, failed.
_NETWORK_WORDS = ("connection refused", "dns error", "failed to lookup", "no route to host", "timed out")


def scrub(text: str, secrets: Any) -> str:
    """``text`` with every secret replaced by ``***`` (secrets of 4 characters or more)."""
    for secret in secrets:
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if isinstance(secret, str) and len(secret.strip()) >= 4:
            text = text.replace(secret.strip(), "***")
    return text


@dataclass(frozen=True)
class Connection:
    """Everything ``Client.connect`` needs for one cluster, and where each part came from.

    Attributes:
        address: ``host:port``.
        namespace: the namespace.
        tls: ``False``, ``True`` (system roots) or a ``TLSConfig``.
        api_key: the API key, never shown.
        rpc_metadata: gRPC metadata from the profile (``grpc_meta``), never shown: it often
            carries credentials.
        address_source: the setting that named the address, for messages.
        namespace_source: the setting that named the namespace, for messages.
        tls_sources: the settings that named TLS material, for messages.
    """

    address: str
    namespace: str
    tls: Any = False
    api_key: str | None = field(default=None, repr=False)
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)
    address_source: str = "--temporal-env"
    namespace_source: str = "the default"
    tls_sources: tuple[str, ...] = ()
    tls_flag: str = "--temporal-tls"

    @property
    def secrets(self) -> list[Any]:
        tls_key = getattr(self.tls, "client_private_key", None)
        return [self.api_key, tls_key, *self.rpc_metadata.values()]

    def tls_summary(self) -> str:
        if self.tls is False:
            return "no TLS"
        if self.tls is True:
            return "TLS"
        return "mTLS" if getattr(self.tls, "client_cert", None) else "TLS"

    def describe(self) -> str:
        """One line without secrets: where, which namespace, TLS, whether a key is set."""
        extras = [f"namespace {self.namespace!r}", self.tls_summary()]
        if self.api_key:
            extras.append("API key set")
        return f"{self.address} ({', '.join(extras)}; from {self.address_source})"

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"namespace": self.namespace, "tls": self.tls}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self.rpc_metadata:
            kwargs["rpc_metadata"] = dict(self.rpc_metadata)
        return kwargs


def _load_profile(config: ServerConfig, environ: Mapping[str, str]) -> tuple[Any, str]:
    """temporalio's profile for ``config`` (environment applied), and a name for messages."""
    from temporalio.envconfig import ClientConfigProfile

    config_file = environ.get(CONFIG_FILE_VAR)
    if config_file and not Path(config_file).expanduser().is_file():
        raise TemporalConfigError(MISSING_CONFIG_FILE.format(var=CONFIG_FILE_VAR, path=config_file))
    name = config.profile or environ.get(PROFILE_VAR) or "default"
    source = "--temporal-profile" if config.profile else (PROFILE_VAR if environ.get(PROFILE_VAR) else "default")
    where = f"profile {name!r} from {source}, file {config_file or 'the default file'}"
    try:
        profile = ClientConfigProfile.load(profile=config.profile, override_env_vars=dict(environ))
    except Exception as err:  # noqa: BLE001 - the bridge raises its own ConfigError type
        lines = [line for line in str(err).splitlines() if line.strip()]
        # A TOML error quotes the offending line, which may hold a key: keep only the
        # first line (where) and the last (what), never the quoted source.
        problem = lines[0] if len(lines) < 2 else f"{lines[0]}: {lines[-1].strip()}"
        if "not found" in problem.lower():
            fix = "choose a profile the file defines (`temporal config list`), or unset " + (
                "--temporal-profile" if config.profile else PROFILE_VAR
            )
        else:
            fix = f"correct the file ({CONFIG_FILE_VAR} or ~/.config/temporalio/temporal.toml)"
        raise TemporalConfigError(
            BAD_PROFILE.format(where=where, problem=scrub(problem, [environ.get("TEMPORAL_API_KEY")]), fix=fix)
        ) from None
    return profile, f"profile {name!r}" + (f" of {config_file}" if config_file else "")


def _read_source(value: Any, what: str, source: str) -> bytes | None:
    """PEM bytes from a path (``str`` from our options, ``Path`` from the loader) or data."""
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode()
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as err:
        raise TemporalConfigError(
            UNREADABLE_TLS.format(what=what, path=str(value), source=source, reason=err.strerror)
        ) from None


def _tls(
    config: ServerConfig, profile: Any, api_key: str | None, prefix: str
) -> tuple[bool | TLSConfig, tuple[str, ...]]:
    """Our TLS options over the profile's (and the ``TEMPORAL_TLS_*`` variables')."""
    from temporalio.service import TLSConfig

    found = profile.tls
    env_source = "TEMPORAL_TLS_* or the profile's tls table"
    parts: dict[str, tuple[Any, str]] = {}
    for key, ours, option, theirs in (
        ("client_cert", config.tls_cert, f"{prefix}tls-cert", found and found.client_cert),
        ("client_private_key", config.tls_key, f"{prefix}tls-key", found and found.client_private_key),
        ("server_root_ca_cert", config.tls_ca, f"{prefix}tls-ca", found and found.server_root_ca_cert),
    ):
        if ours:
            parts[key] = (ours, option)
        elif theirs:
            parts[key] = (theirs, env_source)
    server_name = found.server_name if found is not None else None
    disabled = found.disabled if found is not None else None
    if config.tls:
        disabled = False
    sources = tuple(sorted({source for _, source in parts.values()}))
    if disabled is True and not config.tls:
        return False, sources
    if parts or server_name:
        what = {"client_cert": "client certificate", "client_private_key": "client key", "server_root_ca_cert": "server CA"}
        read = {key: _read_source(value, what[key], source) for key, (value, source) in parts.items()}
        tls = TLSConfig(
            domain=server_name,
            client_cert=read.get("client_cert"),
            client_private_key=read.get("client_private_key"),
            server_root_ca_cert=read.get("server_root_ca_cert"),
        )
        return tls, sources
    if disabled is False:
        return True, sources
    return bool(api_key), sources  # an API key means TLS unless it is turned off (the SDK's rule)


def resolve_connection(
    config: ServerConfig,
    environ: Mapping[str, str] | None = None,
    *,
    flag_prefix: str = "--temporal-",
    address_flag: str = "--temporal-env",
) -> Connection:
    """The connection for an external ``config``: our settings over temporalio's environment
    configuration (variables and profile).

    Args:
        config: the settings given to us; ``env`` is ``HOST:PORT`` or ``"external"``.
        environ: the environment the loader reads (default: this process's).
        flag_prefix, address_flag: how the caller's command line spells the TLS and address
            options (the plugin's ``--temporal-tls-cert``, the replay command's ``--tls-cert``),
            for messages.

    Raises:
        TemporalConfigError: no address anywhere, a bad profile or configuration file, or
            unreadable TLS files; the message names the setting and the fix.
    """
    environ = os.environ if environ is None else environ
    profile, profile_name = _load_profile(config, environ)
    if config.env != "external":
        address, address_source = config.env, address_flag
    elif profile.address:
        address = profile.address
        address_source = ADDRESS_VAR if environ.get(ADDRESS_VAR) else profile_name
    else:
        profile_name = config.profile or environ.get(PROFILE_VAR) or "default"
        raise TemporalConfigError(NO_ADDRESS.format(profile=profile_name, address_flag=address_flag))
    if config.namespace_given:
        namespace, namespace_source = config.namespace, config.namespace_source
    elif profile.namespace:
        namespace = profile.namespace
        namespace_source = "TEMPORAL_NAMESPACE" if environ.get("TEMPORAL_NAMESPACE") else profile_name
    else:
        namespace, namespace_source = "default", "the default"
    api_key = config.api_key or profile.api_key
    tls, tls_sources = _tls(config, profile, api_key, flag_prefix)
    return Connection(
        address=address,
        namespace=namespace,
        tls=tls,
        api_key=api_key,
        rpc_metadata=dict(profile.grpc_meta or {}),
        address_source=address_source,
        namespace_source=namespace_source,
        tls_sources=tls_sources,
        tls_flag=f"{flag_prefix}tls",
    )


def _reason(error: BaseException) -> str:
    """The useful part of the SDK's connection error (the core nests the cause in quotes)."""
    text = str(error)
    for marker in ('error: "', 'message: "'):
        if marker in text:
            return text.rsplit(marker, 1)[1].split('"', 1)[0]
    return text.splitlines()[0] if text else type(error).__name__


async def connect(connection: Connection, runtime: Runtime | None = None) -> Client:
    """A client for ``connection`` whose namespace exists, or a clear error.

    Raises:
        TemporalConfigError: unreachable, a failed TLS handshake, a rejected key or an
            unknown namespace; the message names the setting to fix and holds no secret.
    """
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode

    def fail(reason: str, fix: str) -> TemporalConfigError:
        message = UNREACHABLE.format(
            address=connection.address, namespace=connection.namespace, tls=connection.tls_summary(),
            reason=reason, fix=fix,
        )  # fmt: skip
        return TemporalConfigError(scrub(message, connection.secrets))

    try:
        client = await Client.connect(connection.address, runtime=runtime, **connection.connect_kwargs())
    except Exception as err:  # noqa: BLE001 - the core's errors have no useful types
        reason = _reason(err)
        full = str(err).lower()
        # With TLS on, a connection that opened and then broke is the handshake refusing us.
        if connection.tls is not False and not any(word in full for word in _NETWORK_WORDS):
            fix = FIX_TLS.format(
                cert_source=" / ".join(connection.tls_sources) or "none given",
                ca_source=" / ".join(connection.tls_sources) or "system roots",
            )
        else:
            fix = FIX_UNREACHABLE.format(address_source=connection.address_source, tls_flag=connection.tls_flag)
        raise fail(reason, fix) from None
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=connection.namespace))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise TemporalConfigError(
                UNKNOWN_NAMESPACE.format(
                    namespace=connection.namespace, address=connection.address, source=connection.namespace_source
                )
            ) from None
        if err.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
            raise fail(
                f"{err.status.name}: {err.message}",
                "Check the API key (TEMPORAL_API_KEY or the profile's api_key) or the client certificate.",
            ) from None
        raise fail(f"{err.status.name}: {err.message}", "Check that the cluster is healthy.") from None
    return client
