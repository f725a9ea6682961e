"""Reference-system workers for the chaos test, each its own process so it can be killed -9.

Usage: ``python chaos_worker.py ADDRESS LEDGER``. This process imports everything once and then
serves as a fork server: for each line on its stdin (a log file path) it forks a worker whose
output goes to that file, and prints the worker's pid. Importing temporalio and the reference
system takes seconds here; a fresh interpreter per worker would mean most kills hit a worker
still importing, which tests nothing. A forked worker polls within moments. (Nothing here has
started a thread or temporalio's runtime before the fork; each worker creates its own.)

A worker runs every workflow and activity of the reference system, on both task queues, over
the paper ledger at LEDGER. It keeps no workflow cache (``max_cached_workflows=0``): with
sticky queues, the server would wait for a killed worker's sticky queue to time out before
handing its workflows to the next one, and the chaos test would pay that wait on every kill.
It connects again until the server answers, so it may start while the server is down.
"""

from __future__ import annotations

import asyncio
import os
import signal
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

WORKFLOWS = all_workflows()  # imports every workflow module before any fork


async def _connect(address: str) -> Client:
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:  # the server is not up (yet, or again)
            await asyncio.sleep(0.1)


async def run_worker(address: str, ledger: str) -> None:
    client = await _connect(address)
    activities = create_activities(ledger_path=ledger)
    market_data, _ = split_by_task_queue(activities)
    workers = [
        Worker(
            client,
            task_queue=TRADING_TASK_QUEUE,
            workflows=WORKFLOWS,
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


def serve_forks(address: str, ledger: str) -> None:
    # Children are reaped by the kernel, so a killed worker's pid is gone, not a zombie.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while line := sys.stdin.readline():  # EOF: the test is gone
        pid = os.fork()
        if pid == 0:
            log = os.open(line.strip(), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(log, 1)
            os.dup2(log, 2)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                asyncio.run(run_worker(address, ledger))
            finally:
                os._exit(1)
        print(pid, flush=True)


if __name__ == "__main__":
    serve_forks(sys.argv[1], sys.argv[2])
