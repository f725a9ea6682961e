"""A month-end rebalance: what a workflow does depends on the date it runs (docs/how-to/start-time.md).

Workflow code reads the date from ``workflow.now()``, never the wall clock, so a test can
choose it with ``@pytest.mark.temporal(start_time=...)``.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone

from temporalio import workflow

#: The market closes at 21:00 UTC (16:00 in New York).
CLOSE = time(21, 0, tzinfo=timezone.utc)


def last_business_day(day: date) -> date:
    """The month's last weekday (holidays aside)."""
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return last


@workflow.defn
class MonthEndRebalance:
    """Rebalances the portfolio at the close of the month's last business day."""

    @workflow.run
    async def run(self) -> str:
        now = workflow.now()
        month_end = datetime.combine(last_business_day(now.date()), CLOSE)
        if now > month_end:  # past this month's close: next month's
            month_end = datetime.combine(last_business_day(month_end.date() + timedelta(days=7)), CLOSE)
        await workflow.sleep(month_end - now)
        return f"started {now:%Y-%m-%d %H:%M}, rebalanced {workflow.now():%A %Y-%m-%d %H:%M}"
