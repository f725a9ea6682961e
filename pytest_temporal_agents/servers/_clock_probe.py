"""Check that a time-skipping server still skips time.

The Java test server counts time-skipping locks, and a few ways of ending a workflow (a
termination while one of its tasks is in flight, among others) leave a lock behind for
good: from then on no timer fires without real waiting, and every later test on that
server times out. The harness's teardown avoids the ways it knows; this probe catches the
rest, so one leaking test costs a server restart, not the session.

The probe is one call to the test server's ``UnlockTimeSkippingWithSleep`` (what the SDK's
``WorkflowEnvironment.sleep`` sends): it lifts the client's own lock, waits for one day of
server time, and locks again. With no other lock, the server skips the day at once; a leaked
lock holds the clock, and the call waits in real time. One round trip (0.6 ms), where a
one-day workflow timer on its own worker cost 8.3 ms after every test (``benchmarks/clock_probe.py``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client

#: Wall-clock seconds the probe may take; a skipping server answers in milliseconds.
PROBE_SECONDS = 2.0

#: How far the probe moves the server's clock.
PROBE_SLEEP = timedelta(days=1)


async def time_still_skips(client: Client, limit: float = PROBE_SECONDS) -> bool:
    """True when one day of server time passes within ``limit`` seconds of wall time."""
    request = SleepRequest()
    request.duration.FromTimedelta(PROBE_SLEEP)
    try:
        await asyncio.wait_for(
            client.test_service.unlock_time_skipping_with_sleep(request), timeout=limit
        )
    except asyncio.TimeoutError:
        # The call is cancelled; the server is about to be replaced, so whether it locks
        # again no longer matters.
        return False
    return True
