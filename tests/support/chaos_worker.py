"""A reference-system worker for the chaos test, run as its own process so it can be killed -9.

Usage: ``python chaos_worker.py ADDRESS LEDGER``. Every workflow and activity of the reference
system, on both task queues, over the paper ledger at LEDGER. It keeps no workflow cache
(``max_cached_workflows=0``): with sticky queues, the server would wait for a killed worker's
sticky queue to time out before handing its workflows to the next one, and the chaos test pays
that wait on every kill. It connects again until the server answers, so it may start first.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from reference_workflows.activities import (
    MARKET_DATA_TASK_QUEUE,
    TRADING_TASK_QUEUE,
    create_activities,
    split_by_task_queue,
)
from reference_workflows.workers import all_workflows


async def _connect(address: str) -> Client:
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:  # the server is not up (yet, or again)
            await asyncio.sleep(0.1)


async def main(address: str, ledger: str) -> None:
    client = await _connect(address)
    activities = create_activities(ledger_path=ledger)
    market_data, _ = split_by_task_queue(activities)
    workers = [
        Worker(
            client,
            task_queue=TRADING_TASK_QUEUE,
            workflows=all_workflows(),
            activities=activities,
            max_cached_workflows=0,
        ),
        Worker(
            client,
            task_queue=MARKET_DATA_TASK_QUEUE,
            activities=market_data,
            max_cached_workflows=0,
        ),
    ]
    print("worker running", flush=True)
    await asyncio.gather(*(worker.run() for worker in workers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
