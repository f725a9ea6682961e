"""The ``activity_env`` fixture's object: one activity, run alone, without a server.

It wraps the SDK's :class:`temporalio.testing.ActivityEnvironment` and adds what tests of
a single activity keep writing by hand: the heartbeats as a list, cancellation or worker
shutdown at a chosen heartbeat (deterministic, no sleeps), ``info`` fields overridden by
keyword, and sync activities run in a thread so that a cancellation can reach them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import temporalio.activity
from temporalio.testing import ActivityEnvironment

from .._errors import HarnessUsageError
from .._sdk import activity_definition, activity_environment_cancelled
from ._clock import ACTIVITY_CLOCK, ActivityClockLease


class ActivityEnv:
    """Runs activities in an activity context, recording heartbeats.

    Attributes:
        env: the wrapped SDK ``ActivityEnvironment`` (for anything not covered here).
        heartbeat_calls: the arguments of every ``activity.heartbeat(...)`` call, as tuples.
    """

    def __init__(self, client: Any = None) -> None:
        self.env = ActivityEnvironment(client=client)
        self.heartbeat_calls: list[tuple[Any, ...]] = []
        self._cancel_at: int | None = None
        self._shutdown_at: int | None = None
        self._cancel_details = temporalio.activity.ActivityCancellationDetails(cancel_requested=True)
        self._clock: ActivityClockLease | None = None
        self.env.on_heartbeat = self._on_heartbeat

    # -- heartbeats -----------------------------------------------------------------------
    @property
    def heartbeats(self) -> list[Any]:
        """Heartbeat details, one entry per heartbeat: the value when one was given,
        a tuple when several, None when none."""
        return [call[0] if len(call) == 1 else (call or None) for call in self.heartbeat_calls]

    def _on_heartbeat(self, *details: Any) -> None:
        self.heartbeat_calls.append(details)
        count = len(self.heartbeat_calls)
        if self._shutdown_at is not None and count >= self._shutdown_at:
            self._shutdown_at = None
            self.env.worker_shutdown()
        if self._cancel_at is not None and count >= self._cancel_at:
            self._cancel_at = None
            self.env.cancel(self._cancel_details)

    # -- info -----------------------------------------------------------------------------
    @property
    def info(self) -> temporalio.activity.Info:
        """What ``activity.info()`` returns inside the activity."""
        return self.env.info

    @info.setter
    def info(self, value: temporalio.activity.Info) -> None:
        self.env.info = value

    def set_info(self, **changes: Any) -> temporalio.activity.Info:
        """Override fields of ``activity.info()``, e.g. ``set_info(attempt=3)``.

        Args:
            **changes: ``temporalio.activity.Info`` fields. ``heartbeat_details`` (the
                details the previous attempt heartbeated) is a list of values.

        Raises:
            HarnessUsageError: an unknown field, listing the valid ones.
        """
        valid = {f.name for f in dataclasses.fields(temporalio.activity.Info)}
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise HarnessUsageError(
                f"activity_env.set_info() got unknown field(s) {', '.join(map(repr, unknown))}. "
                f"Valid fields: {', '.join(sorted(valid))}."
            )
        self.env.info = dataclasses.replace(self.env.info, **changes)
        return self.env.info

    def scheduled_at(self, when: datetime) -> None:
        """Set the attempt's scheduled time (what a frozen activity clock reports)."""
        aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        self.set_info(scheduled_time=aware, current_attempt_scheduled_time=aware, started_time=aware)

    def freeze_clock(self, at: datetime | None = None, *, tick: bool = False) -> ActivityClockLease:
        """Make the activity read the wall clock as its scheduled time (``at``, if given).

        The same activity clock as ``temporal.freeze_activity_clock()``; released when the
        test ends (or by the returned lease).
        """
        if at is not None:
            self.scheduled_at(at)
        self.close()
        self._clock = ACTIVITY_CLOCK.acquire(tick=tick)
        return self._clock

    def close(self) -> None:
        """Release the activity clock if this environment froze it (the fixture does)."""
        if self._clock is not None:
            self._clock.release()
            self._clock = None

    # -- cancellation and shutdown ------------------------------------------------------------
    def cancel(
        self,
        *,
        at_heartbeat: int | None = None,
        details: temporalio.activity.ActivityCancellationDetails | None = None,
    ) -> None:
        """Cancel the activity: now, or when it sends its ``at_heartbeat``-th heartbeat.

        Called before :meth:`run`, without ``at_heartbeat``, the activity starts cancelled.
        """
        if details is not None:
            self._cancel_details = details
        if at_heartbeat is None:
            self.env.cancel(self._cancel_details)
        else:
            self._cancel_at = _count(at_heartbeat, "cancel")

    def shutdown(self, *, at_heartbeat: int | None = None) -> None:
        """Signal worker shutdown: now, or at the ``at_heartbeat``-th heartbeat."""
        if at_heartbeat is None:
            self.env.worker_shutdown()
        else:
            self._shutdown_at = _count(at_heartbeat, "shutdown")

    @property
    def cancelled(self) -> bool:
        return activity_environment_cancelled(self.env)

    # -- running --------------------------------------------------------------------------
    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run an activity (async, or sync in a thread) and return its result.

        Exceptions the activity raises propagate, ``CancelledError`` included.
        """
        if _is_async(fn):
            return await self.env.run(fn, *args)
        # A thread, so that cancel() can raise into it while the loop stays free.
        return await asyncio.to_thread(self.env.run, fn, *args)

    def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a sync activity in this thread (for sync tests)."""
        if _is_async(fn):
            raise HarnessUsageError(
                f"activity_env.run_sync({fn.__name__}) got an async activity: "
                "use `await activity_env.run(...)` in an async test."
            )
        return self.env.run(fn, *args)


def _is_async(fn: Callable[..., Any]) -> bool:
    defn = activity_definition(fn)
    return defn.is_async if defn is not None else inspect.iscoroutinefunction(fn)


def _count(value: int, method: str) -> int:
    if not isinstance(value, int) or value < 1:
        raise HarnessUsageError(
            f"activity_env.{method}(at_heartbeat={value!r}) needs a heartbeat number >= 1 "
            "(1 is the first heartbeat)."
        )
    return value
