"""The activity clock: activities read their workflow time; nothing else is frozen."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from textwrap import dedent

import pytest
from freezegun import freeze_time
from mocking_workflows import EventWorkflow, StampWorkflow, record_event, stamp, stamp_in_thread
from pytester_support import run_expecting

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.mocks._clock import ACTIVITY_CLOCK

STAMPS = [stamp, stamp_in_thread]


@pytest.mark.temporal(freeze_activity_clock=True)
async def test_the_marker_freezes_activities_at_their_scheduled_workflow_time(temporal: TemporalHarness) -> None:
    workflow_now, aware, epoch, threaded, monotonic_step, wall_step = await temporal.run(
        StampWorkflow.run, activities=STAMPS
    )
    # A week of skipped time: the wall clock is far behind the workflow's clock...
    assert workflow_now - time.time() > 6 * 86400
    # ...but activities (async and in threads) read the time they were scheduled at.
    assert abs(aware - workflow_now) < 1 and abs(epoch - workflow_now) < 1
    assert abs(threaded - workflow_now) < 1
    # Monotonic clocks stay real: the activity's 10 ms sleep took 10 ms of them, none of the wall clock.
    assert 0.008 < monotonic_step < 5 and wall_step == 0
    assert type(datetime.now()).__name__ == "FakeDatetime"  # freezegun patches, ...
    assert abs(datetime.now(timezone.utc).timestamp() - time.time()) < 1  # ... real outside activities


async def test_each_attempt_reads_its_own_scheduled_time(temporal: TemporalHarness) -> None:
    temporal.freeze_activity_clock()
    before = await temporal.now()
    # The event's recording fails twice: the third attempt is the one that reads the clock.
    stamped = (await temporal.run(EventWorkflow.run, activities=[record_event]))["epoch"]
    assert stamped - before.timestamp() >= 2 * 86400  # after the workflow's two-day sleep
    assert stamped - before.timestamp() < 2 * 86400 + 60


async def test_datetime_fields_still_decode_while_frozen(temporal: TemporalHarness) -> None:
    # Annotations resolved during the freeze name freezegun's class; the SDK's converter
    # must still recognise them as datetime.
    temporal.freeze_activity_clock()
    recorded = await temporal.run(EventWorkflow.run, activities=[record_event])
    assert abs(recorded["aware"] - recorded["event"]) < 1


async def test_tick_lets_the_clock_run_on_from_the_scheduled_time(temporal: TemporalHarness) -> None:
    with temporal.freeze_activity_clock(tick=True):
        workflow_now, aware, *_, wall_step = await temporal.run(StampWorkflow.run, activities=STAMPS)
    assert 0 <= aware - workflow_now < 5
    assert 0.008 < wall_step < 5  # the 10 ms the activity slept, on its wall clock too


async def test_released_clock_is_real_again(temporal: TemporalHarness) -> None:
    lease = temporal.freeze_activity_clock()
    lease.release()
    assert not ACTIVITY_CLOCK.running
    workflow_now, aware, *_ = await temporal.run(StampWorkflow.run, activities=STAMPS)
    assert workflow_now - aware > 6 * 86400


async def test_a_test_can_still_use_its_own_freeze_time(temporal: TemporalHarness) -> None:
    temporal.freeze_activity_clock()
    with freeze_time("2020-02-02 12:00:00"):
        assert datetime.now().year == 2020 and time.time() == 1580644800.0
    assert datetime.now().year > 2020
    assert ACTIVITY_CLOCK.running


def test_it_stops_with_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_clock=dedent(
            """
            import pytest
            from pytest_temporal_agents.mocks._clock import ACTIVITY_CLOCK

            @pytest.mark.temporal(freeze_activity_clock=True)
            async def test_on(temporal):
                assert ACTIVITY_CLOCK.running

            async def test_off(temporal):
                assert not ACTIVITY_CLOCK.running
            """
        )
    )
    run_expecting(project, passed=2)


FREEZEGUN_WORKFLOW = """
from datetime import timedelta

import freezegun  # the sandbox would re-import this module, and freezegun with it
import pytest
from temporalio import workflow


@workflow.defn
class Nap:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "rested"


@pytest.mark.temporal(freeze_activity_clock=True)
async def test_nap(temporal):
    assert await temporal.run(Nap.run) == "rested"
"""


def test_a_workflow_module_importing_freezegun_still_loads(project: pytest.Pytester) -> None:
    # freezegun imported afresh while it patches datetime cannot define its classes; the
    # harness's workers pass it through the sandbox, so such workflows still load.
    project.makepyfile(test_inner_freezegun=FREEZEGUN_WORKFLOW)
    run_expecting(project, passed=1)



def test_event_loops_in_other_threads_never_see_a_frozen_clock() -> None:
    """freezegun's start() swaps `time.monotonic` for its fake before it patches every
    loaded module: an event loop in another thread that read its clock meanwhile scheduled
    its next timer thirty years on (the fake model server's loop stopped ticking, and its
    stop() waited in vain). Here a loop in a thread reads its clock all the while."""
    import asyncio
    import threading

    real_monotonic = time.monotonic  # a local name: freezegun patches module attributes
    readings: list[float] = []
    done = threading.Event()

    async def read_the_clock() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            readings.append(loop.time() - real_monotonic())
            await asyncio.sleep(0)

    reader = threading.Thread(target=asyncio.run, args=(read_the_clock(),), daemon=True)
    reader.start()
    try:
        while not readings:
            time.sleep(0.001)
        for _ in range(3):
            ACTIVITY_CLOCK.acquire().release()
    finally:
        done.set()
        reader.join(10)
    assert not reader.is_alive(), "the other thread's event loop stopped running"
    assert max(readings) < 60, f"an event loop read a clock {max(readings):.0f} s ahead"
