"""Source written into nested pytest runs (a module name unique across the suite)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

#: This folder: workflow modules that tests copy into pytester directories or import.
SUPPORT = Path(__file__).resolve().parent

#: Written into every inner test run: the workflows a test file can use.
WORKFLOWS = dedent(
    '''
    import asyncio
    from datetime import timedelta

    import pytest
    from temporalio import activity, workflow


    @activity.defn
    async def greet(name: str) -> str:
        return f"Hello, {name}!"


    @activity.defn
    async def hang_forever() -> None:
        await asyncio.sleep(3600)


    @workflow.defn
    class Greet:
        @workflow.run
        async def run(self, name: str) -> str:
            return await workflow.execute_activity(
                greet, name, start_to_close_timeout=timedelta(seconds=10)
            )


    @workflow.defn
    class Hangs:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                hang_forever, start_to_close_timeout=timedelta(hours=1)
            )
    '''
)
