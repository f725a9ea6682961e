"""A time-skipping server whose clock starts at a chosen instant (``start_time=``).

``@pytest.mark.temporal(start_time=...)`` is Go's ``SetStartTime``: the test's workflows
start "on" that date. The Java test server cannot set its clock: it starts at the wall
clock, only moves forward (skipping), and the session's server is shared by every test.
So a test with a start time runs on a server of its own, the *dated* server (one per
server configuration), and the shared server's clock is never touched:

- a start time later than the dated server's clock: its clock skips forward to it;
- an earlier one: a fresh dated server replaces it (about 0.2 s). Its process starts
  just before the start time: at the wall clock when that is earlier, else under
  libfaketime (a preloaded library that shifts what the process reads as the time of
  day; pip installs it with the ``libfaketime`` package), then skips forward to it.

Either way the test starts with the server's clock at the start time, and the real time
the test takes before its first workflow starts (milliseconds) is all it is off by.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import TemporalConfigError
from ._binaries import TIME_SKIPPING, ServerConfig, find_binary
from ._launcher import guarded

if TYPE_CHECKING:
    from temporalio.runtime import Runtime
    from temporalio.testing import WorkflowEnvironment

#: How far before the start time a faked clock begins; the server skips the rest.
FAKETIME_LEAD = timedelta(seconds=30)

NEEDS_TIME_SKIPPING = """\
@pytest.mark.temporal(start_time={start_time}) needs the time-skipping server, but this test
runs on the {server}, whose clock is the real one and cannot be moved.
Run the test with env="time-skipping" (or --temporal-env=time-skipping), or drop start_time."""

NEEDS_FAKETIME = """\
@pytest.mark.temporal(start_time={start_time}) is before the wall clock ({now}), and the
time-skipping server's clock starts at the wall clock and only moves forward. To start a
server of the test's own at that time, pytest-temporal-agents runs it under libfaketime,
which {problem}. Install it with `pip install libfaketime` (Linux), or choose a
start time after now."""


def check_dated_config(config: ServerConfig, start_time: datetime) -> None:
    """Raises TemporalConfigError unless ``config`` is a server whose clock can be set."""
    if config.env != TIME_SKIPPING:
        raise TemporalConfigError(
            NEEDS_TIME_SKIPPING.format(start_time=_show(start_time), server=config.describe())
        )


async def move_to(env: WorkflowEnvironment, start_time: datetime) -> bool:
    """Skip ``env``'s clock forward to ``start_time``; False if it is already past it."""
    now = await env.get_current_time()
    if start_time < now:
        return False
    await env.sleep(start_time - now)
    return True


async def start_dated(
    config: ServerConfig, runtime: Runtime, start_time: datetime, directory: Path
) -> WorkflowEnvironment:
    """A fresh time-skipping server whose clock is at ``start_time``.

    Its launcher and log go into ``directory`` (the caller removes it).

    Raises:
        TemporalConfigError: the start time is before the wall clock and libfaketime is
            not installed (or not available on this platform).
    """
    from temporalio.testing import WorkflowEnvironment

    binary = find_binary(TIME_SKIPPING, config.test_server_path)
    wall = datetime.now(timezone.utc)
    variables = {} if start_time > wall else _faketime_variables(start_time, wall, start_time - FAKETIME_LEAD)
    path, _ = guarded(binary, directory, loopback=True, environment=variables)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(path), runtime=runtime)
    if not await move_to(env, start_time):  # libfaketime did not take: never run at a wrong time
        now = await env.get_current_time()
        await env.shutdown()
        raise TemporalConfigError(NEEDS_FAKETIME.format(
            start_time=_show(start_time), now=_show(wall),
            problem=f"did not shift the server's clock (it reads {_show(now)})",
        ))
    return env


def _faketime_variables(start_time: datetime, wall: datetime, clock: datetime) -> dict[str, str]:
    """The environment that preloads libfaketime (from its own package's loader), its clock
    at ``clock``."""
    try:
        import libfaketime  # type: ignore[import-untyped]
    except ImportError:
        problem = "is not installed"
    else:
        try:
            variables = dict(libfaketime.get_reload_information()[1])
        except RuntimeError as err:  # a platform libfaketime does not support
            problem = f"cannot run here ({err})"
        else:
            utc = clock.astimezone(timezone.utc)
            return {
                **variables,
                "TZ": "UTC",  # FAKETIME's time of day is read in the process's zone
                "FAKETIME": f"@{utc:%Y-%m-%d %H:%M:%S}",  # "@": starts there, then ticks
            }
    raise TemporalConfigError(NEEDS_FAKETIME.format(start_time=_show(start_time), now=_show(wall), problem=problem))


def _show(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")
