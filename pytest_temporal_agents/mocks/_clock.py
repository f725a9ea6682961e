"""Activity clock: activities that read the wall clock see their workflow time.

Under time skipping a workflow may be thirty days ahead of the wall clock, and an activity
that stamps ``datetime.now()`` on a trade then disagrees with the workflow that scheduled
it. With the clock frozen, code running inside an activity (real ones, on any worker, and
``activity_env`` runs) reads ``datetime.now()``, ``date.today()``, ``time.time()`` and
friends as the time its attempt was scheduled, in workflow time.

freezegun does the patching (``datetime.datetime``, ``time.time`` and every module that
imported them). What differs from a plain ``freeze_time``, which freezes a whole process
while a test's process also runs the event loop, the SDK and workflows:

- the frozen instant comes from the running activity's info (a context variable that the
  SDK sets per activity, threads included), and code outside activities sees real time;
- monotonic clocks (``time.monotonic``, ``perf_counter``) are left real: they are not wall
  clocks, and the event loop, timeouts and the SDK's heartbeat throttling rely on them;
- the SDK's JSON converter, which recognises ``datetime`` type hints by identity, is taught
  that freezegun's class means ``datetime`` (hints resolved during the freeze name it);
- freezegun must not be imported afresh inside the workflow sandbox while it patches
  (its classes would derive from its own fakes); the harness's workers pass it through the
  sandbox, and a worker given its own ``workflow_runner`` should too.
"""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta, timezone
from typing import Any

import temporalio.activity
from typing_extensions import Self

from .._sdk import payload_converter_module


class ActivityClockLease:
    """One user of the activity clock; release it (or leave the ``with`` block) to stop."""

    def __init__(self, clock: _ActivityClock, tick: bool) -> None:
        self._clock = clock
        self.tick = tick
        self.active = True

    def release(self) -> None:
        """Stop freezing for this user (idempotent); the clock stops with its last user."""
        if self.active:
            self.active = False
            self._clock.release(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _ActivityClock:
    """The process-wide patch; started by the first lease and stopped with the last."""

    def __init__(self) -> None:
        self._leases: list[ActivityClockLease] = []
        self._freezer: Any = None
        self._originals: list[tuple[Any, str, Any]] = []
        self._first_read: dict[bytes, float] = {}

    @property
    def running(self) -> bool:
        return self._freezer is not None

    def acquire(self, tick: bool = False) -> ActivityClockLease:
        lease = ActivityClockLease(self, tick)
        self._leases.append(lease)
        if self._freezer is None:
            self._start()
        return lease

    def release(self, lease: ActivityClockLease) -> None:
        if lease in self._leases:
            self._leases.remove(lease)
        if not self._leases and self._freezer is not None:
            self._stop()

    def frozen_now(self) -> datetime | None:
        """The running activity's frozen time (aware, UTC), or None outside activities."""
        if not self._leases or not temporalio.activity.in_activity():
            return None
        info = temporalio.activity.info()
        frozen = info.current_attempt_scheduled_time.astimezone(timezone.utc)
        if self._leases[-1].tick:
            import freezegun.api as fz

            first = self._first_read.setdefault(info.task_token, fz.real_monotonic())
            frozen += timedelta(seconds=fz.real_monotonic() - first)
        return frozen

    # -- patching ---------------------------------------------------------------------------
    def _start(self) -> None:
        import freezegun.api as fz

        clock = self

        def factory() -> datetime:
            # freezegun's own convention: naive UTC.
            now = clock.frozen_now() or fz.real_datetime.now(timezone.utc)
            return now.replace(tzinfo=None)

        first = not fz.freeze_factories
        # The SDK's modules keep their references to the real classes and functions. And
        # asyncio always reads real time: while freezegun's start() patches every loaded
        # module, `time.monotonic` is already its fake, frozen at the placeholder below
        # (946684800 s), and an event loop running in another thread (the fake model
        # server's, for one) that read it then scheduled its next timer thirty years on:
        # that loop never ticked again, and stopping the server waited 5 s in vain.
        freezer = fz.freeze_time(
            datetime(2000, 1, 1), ignore=["temporalio", "asyncio"], real_asyncio=True
        )
        freezer.start()
        fz.freeze_factories[-1] = factory  # type: ignore[call-overload]  # any callable will do
        self._freezer, self._factory = freezer, factory
        if first:
            _unfreeze_monotonic_clocks(fz, freezer)

        def ours() -> bool:
            return bool(fz.freeze_factories) and fz.freeze_factories[-1] is factory

        original_real_time = fz._should_use_real_time

        def should_use_real_time() -> bool:
            if ours():
                return clock.frozen_now() is None
            return original_real_time()

        def datetime_now(cls: Any, tz: Any = None) -> Any:
            frozen = clock.frozen_now() if ours() else None
            if frozen is None:
                if ours():
                    return fz.datetime_to_fakedatetime(fz.real_datetime.now(tz))
                return originals_now(tz)
            local = frozen.astimezone(tz) if tz else frozen.astimezone().replace(tzinfo=None)
            return fz.datetime_to_fakedatetime(local)

        def datetime_utcnow(cls: Any) -> Any:
            frozen = clock.frozen_now() if ours() else None
            if frozen is None:
                if ours():
                    return fz.datetime_to_fakedatetime(fz.real_datetime.now(timezone.utc).replace(tzinfo=None))
                return originals_utcnow()
            return fz.datetime_to_fakedatetime(frozen.replace(tzinfo=None))

        def date_today(cls: Any) -> Any:
            frozen = clock.frozen_now() if ours() else None
            if frozen is None:
                if ours():
                    return fz.date_to_fakedate(fz.real_date.today())
                return originals_today()
            return fz.date_to_fakedate(frozen.astimezone().date())

        # Type hints resolved while the clock runs name freezegun's classes (modules'
        # `datetime` globals are patched, and the sandbox imports modules afresh), but
        # the SDK's JSON converter recognises datetime hints by identity.
        payload_converter = payload_converter_module()
        to_type = payload_converter.value_to_type
        fakes = {fz.FakeDatetime: fz.real_datetime, fz.FakeDate: fz.real_date}

        def value_to_type(hint: Any, value: Any, custom_converters: Any = ()) -> Any:
            return to_type(fakes.get(hint, hint), value, list(custom_converters))

        self._patch(payload_converter, "value_to_type", value_to_type)
        originals_now = fz.FakeDatetime.now
        originals_utcnow = fz.FakeDatetime.utcnow
        originals_today = fz.FakeDate.today
        self._patch(fz, "_should_use_real_time", should_use_real_time)
        self._patch(fz.FakeDatetime, "now", classmethod(datetime_now))
        self._patch(fz.FakeDatetime, "today", classmethod(lambda cls: datetime_now(cls)))
        self._patch(fz.FakeDatetime, "utcnow", classmethod(datetime_utcnow))
        self._patch(fz.FakeDate, "today", classmethod(date_today))

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._originals.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def _stop(self) -> None:
        import freezegun.api as fz

        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals.clear()
        # freezegun's stop() pops the innermost factory, which is ours unless a test
        # started its own freeze_time inside ours and left it running.
        if fz.freeze_factories and fz.freeze_factories[-1] is self._factory:
            self._freezer.stop()
        self._freezer = None
        self._first_read.clear()


def _unfreeze_monotonic_clocks(fz: Any, freezer: Any) -> None:
    """Put the real monotonic clocks back where freezegun replaced them."""
    import time

    reals = {
        "monotonic": fz.real_monotonic,
        "perf_counter": fz.real_perf_counter,
        "monotonic_ns": getattr(fz, "real_monotonic_ns", None),
        "perf_counter_ns": getattr(fz, "real_perf_counter_ns", None),
    }
    for name, real in reals.items():
        if real is not None:
            setattr(time, name, real)
    real_ids = {id(real) for real in reals.values() if real is not None}
    kept = []
    for owner, attribute, original in freezer.undo_changes:
        if id(original) in real_ids:
            setattr(owner, attribute, original)
        else:
            kept.append((owner, attribute, original))
    freezer.undo_changes[:] = kept


ACTIVITY_CLOCK = _ActivityClock()


class ActivityClockFeature:
    """``temporal.freeze_activity_clock()``: a lease on the process's activity clock,
    released at teardown (:meth:`release`) if the test did not release it."""

    def __init__(self) -> None:
        self._clock_lease: ActivityClockLease | None = None

    def freeze_activity_clock(self, *, tick: bool = False) -> ActivityClockLease:
        """Make activities see the workflow time at which they were scheduled.

        From now until the test ends (or the returned lease is released, or its ``with``
        block ends), code inside activities reads ``datetime.now()``, ``date.today()``,
        ``time.time()``, ``time.localtime()``... as the workflow time its attempt was
        scheduled. Code outside activities, monotonic clocks and the event loop keep
        real time. Also on with ``@pytest.mark.temporal(freeze_activity_clock=True)``.

        Args:
            tick: let the clock run on at real speed, from the scheduled time at the
                activity's first read, for activities that measure durations with the
                wall clock.

        Returns:
            The lease; ``release()`` it to stop early.
        """
        if self._clock_lease is not None and self._clock_lease.active:
            self._clock_lease.release()
        self._clock_lease = ACTIVITY_CLOCK.acquire(tick=tick)
        # Released at teardown; also if a harness used without the fixture is dropped.
        weakref.finalize(self, self._clock_lease.release)
        return self._clock_lease

    async def release(self) -> list[str]:
        if self._clock_lease is not None:
            self._clock_lease.release()
        return []
