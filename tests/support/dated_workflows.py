"""A workflow that reports its clock, for the start-time tests (tests/harness/test_start_time.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn
class Clock:
    """Reads ``workflow.now()`` at its start and after a three-day timer."""

    @workflow.run
    async def run(self) -> list[str]:
        started = workflow.now()
        await workflow.sleep(timedelta(days=3))
        return [started.isoformat(), workflow.now().isoformat(), workflow.info().start_time.isoformat()]
