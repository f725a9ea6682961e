"""@pytest.mark.temporal(start_time=...): the test's workflows start at that instant, on a
server of their own, and no other test's clock moves."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from textwrap import dedent

import pytest
from dated_workflows import Clock
from month_end import MonthEndRebalance
from pytester_support import SUPPORT, run_expecting

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.servers import ServerConfig, ServerPool

EXAMPLES = SUPPORT.parent.parent / "docs" / "examples"
#: Real time between the clock being set and a workflow's first task, at most (it is milliseconds).
SKEW = timedelta(seconds=2)
PAST = datetime(2024, 1, 31, 15, 0, tzinfo=timezone.utc)
FUTURE = datetime(2030, 6, 28, 9, 30, tzinfo=timezone.utc)


def _near(moment: str, expected: datetime) -> bool:
    return timedelta(0) <= datetime.fromisoformat(moment) - expected < SKEW


@pytest.mark.temporal(start_time=PAST)
async def test_a_past_start_time_is_the_workflows_now(temporal: TemporalHarness) -> None:
    assert PAST <= await temporal.now() < PAST + SKEW
    started, woke, info_start = await temporal.run(Clock.run)
    assert _near(started, PAST) and _near(info_start, PAST)
    assert _near(woke, PAST + timedelta(days=3))  # and timers skip from there


@pytest.mark.temporal(start_time=PAST)
async def test_a_workflow_runs_on_the_date_it_was_given(temporal: TemporalHarness) -> None:
    assert await temporal.run(MonthEndRebalance.run) == (
        "started 2024-01-31 15:00, rebalanced Wednesday 2024-01-31 21:00"
    )


@pytest.mark.temporal(start_time=FUTURE)
async def test_a_future_start_time_is_the_workflows_now(temporal: TemporalHarness) -> None:
    handle = await temporal.start(Clock.run)
    started, _, _ = await handle.result()
    assert _near(started, FUTURE)
    first_event = (await temporal.history(handle)).events[0]
    assert _near(first_event.event_time.ToDatetime(timezone.utc).isoformat(), FUTURE)  # the history too


@pytest.mark.temporal(start_time=datetime(2024, 3, 30, 12, 0, tzinfo=timezone(timedelta(hours=-4))))
async def test_a_start_time_in_any_zone_is_that_instant(temporal: TemporalHarness) -> None:
    # Saturday noon in New York is 16:00 UTC; the month's last business day was the Friday before.
    assert await temporal.run(MonthEndRebalance.run) == (
        "started 2024-03-30 16:00, rebalanced Tuesday 2024-04-30 21:00"
    )


async def test_a_test_without_start_time_runs_at_the_shared_servers_time(temporal: TemporalHarness) -> None:
    # Whatever dated tests ran before: the shared server's clock is the wall clock plus the
    # time earlier tests skipped, never a start time's.
    now = await temporal.now()
    assert now >= datetime.now(timezone.utc) - SKEW
    assert not PAST <= now < PAST + timedelta(days=30)


SESSION = dedent(
    """
    from datetime import datetime, timedelta, timezone

    import pytest
    from month_end import MonthEndRebalance

    FIRST = datetime(2030, 8, 30, 20, 0, tzinfo=timezone.utc)
    shared = {}


    async def test_shared_before(temporal):
        shared["before"] = await temporal.now()


    @pytest.mark.temporal(start_time=FIRST)
    async def test_later(temporal):
        assert await temporal.run(MonthEndRebalance.run) == (
            "started 2030-08-30 20:00, rebalanced Friday 2030-08-30 21:00"
        )


    @pytest.mark.temporal(start_time=datetime(2024, 1, 31, 9, 0, tzinfo=timezone.utc))
    async def test_earlier_gets_a_fresh_server(temporal):
        assert await temporal.run(MonthEndRebalance.run) == (
            "started 2024-01-31 09:00, rebalanced Wednesday 2024-01-31 21:00"
        )


    @pytest.mark.temporal(start_time=datetime(2024, 1, 31, 9, 0, tzinfo=timezone.utc))
    async def test_the_same_time_again(temporal):
        assert (await temporal.run(MonthEndRebalance.run)).startswith("started 2024-01-31 09:00,")


    @pytest.mark.temporal(start_time=datetime(2024, 3, 29, 8, 0, tzinfo=timezone.utc))
    async def test_later_again_reuses_it(temporal):
        assert (await temporal.run(MonthEndRebalance.run)).endswith("rebalanced Friday 2024-03-29 21:00")


    async def test_shared_after(temporal):
        # Undisturbed: the shared server kept its own clock (the wall clock here: no test
        # of this session skipped its time), never the dated tests' 2024 or 2030.
        after = await temporal.now()
        assert timedelta(0) <= after - shared["before"] < timedelta(minutes=1)
        assert abs(after - datetime.now(timezone.utc)) < timedelta(minutes=1)
    """
)


def test_earlier_and_later_start_times_in_one_session(project: pytest.Pytester) -> None:
    project.syspathinsert(str(EXAMPLES))
    project.makepyfile(test_dates=SESSION)
    run_expecting(project, "-p", "no:randomly", passed=6)


async def test_the_pool_reuses_its_dated_server_only_forwards() -> None:
    pool = ServerPool()
    try:
        first = await pool.get(ServerConfig(), start_time=FUTURE)
        later = await pool.get(ServerConfig(), start_time=FUTURE + timedelta(days=1))
        assert later is first
        assert FUTURE + timedelta(days=1) <= await later.get_current_time() < FUTURE + timedelta(days=1) + SKEW
        earlier = await pool.get(ServerConfig(), start_time=PAST)
        assert earlier is not first
        assert PAST <= await earlier.get_current_time() < PAST + SKEW
        assert pool.started == []  # the shared server was never started
    finally:
        pool.shutdown()


async def test_without_libfaketime_a_past_time_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_temporal_agents import TemporalConfigError

    monkeypatch.setitem(sys.modules, "libfaketime", None)  # as if not installed
    pool = ServerPool()
    try:
        with pytest.raises(TemporalConfigError) as error:
            await pool.get(ServerConfig(), start_time=PAST)
        message = str(error.value)
        assert "start_time=2024-01-31 15:00:00+00:00) is before the wall clock" in message
        assert "libfaketime,\nwhich is not installed" in message and "pip install libfaketime" in message
        # A time after now needs no libfaketime: the server skips forward to it.
        assert FUTURE <= await (await pool.get(ServerConfig(), start_time=FUTURE)).get_current_time()
    finally:
        pool.shutdown()


BAD_MARKERS = dedent(
    """
    from datetime import datetime, timezone

    import pytest


    @pytest.mark.temporal(start_time=datetime(2024, 1, 31))
    async def test_naive(temporal):
        pass


    @pytest.mark.temporal(start_time="2024-01-31")
    async def test_a_string(temporal):
        pass


    @pytest.mark.temporal(start_time=datetime(2024, 1, 31, tzinfo=timezone.utc), env="local")
    async def test_on_the_dev_server(temporal):
        pass
    """
)


def test_bad_start_times_fail_with_the_fix(project: pytest.Pytester) -> None:
    project.makepyfile(test_bad=BAD_MARKERS)
    result = run_expecting(project, errors=3)
    result.stdout.fnmatch_lines([
        ("*@pytest.mark.temporal(start_time=datetime.datetime(2024, 1, 31, 0, 0)) is invalid: it has no time "
        "zone, so it could mean any instant."),
        "*start_time=datetime(2024, 1, 31, 16, 0, tzinfo=timezone.utc).",
        "*@pytest.mark.temporal(start_time='2024-01-31') is invalid: it is not a datetime.datetime.",
        ("*@pytest.mark.temporal(start_time=2024-01-31 00:00:00+00:00) needs the time-skipping server, but "
        "this test"),
        "*runs on the local server, whose clock is the real one and cannot be moved.",
    ])
