"""Replaying in several processes: the ``-j N`` of the replay command.

The SDK replays one workflow task at a time per process, so N processes replay about N
times as fast. Each worker is a fresh interpreter (``spawn``: it imports the workflows
itself, as a restarted production worker does) that takes batches one at a time and sends
back plain results; the parent hands out the next batch to whichever worker is free, and
puts the results back in the original order.

What can go wrong is reported, never waited for: a worker that dies (killed, out of
memory, a crash in native code) is seen through its process sentinel, its batch gets a
result naming how it died, and a fresh worker takes the batches still to do. Workers ignore
SIGINT: Ctrl-C reaches the parent, which kills them all before it returns, so none is left
behind. Standard library only: starting the workers costs the parent no import, so they
start while the parent imports the workflows.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

#: Each worker is an interpreter that imports the workflows: more than this is a typo.
MOST_JOBS = 64
#: Batches of at most this many histories, so that progress moves and the load balances.
BATCH_SIZE = 50


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def batches(count: int, jobs: int) -> list[range]:
    """Ranges over ``count`` items, in order: about four per process (so that the load
    balances as they finish), at most BATCH_SIZE items each (so that progress moves)."""
    size = max(1, min(BATCH_SIZE, -(-count // (max(1, jobs) * 4))))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


@dataclass(frozen=True)
class Outcome:
    """What a worker gave for one batch: its return value, or why there is none."""

    value: Any = None
    #: "" when the batch ran; else one line: the exception it raised, or how the worker died.
    problem: str = ""


def _worker(connection: multiprocessing.connection.Connection, work: str) -> None:
    """A worker's loop: ``(index, args)`` in, ``(index, ok, value)`` out, until None or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    module, _, name = work.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        index, args = message
        try:
            reply = (index, True, function(*args))
        except Exception as err:  # noqa: BLE001 - the parent reports it on the batch
            reply = (index, False, f"{type(err).__name__}: {err}")
        connection.send(reply)


def _how_it_died(process: multiprocessing.process.BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class WorkerPool:
    """``jobs`` worker processes that run ``work`` ("pkg.module:function") on batches.

    Use as a context manager: the workers start on entry (so they import while the parent
    gets ready) and are killed and reaped on exit, however the block ends.
    """

    def __init__(self, jobs: int, work: str) -> None:
        self.jobs = jobs
        self.work = work
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]] = []
        self._ran = False

    def __enter__(self) -> Self:
        for _ in range(self.jobs):
            self._start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        # Workers that never got work (bad input found first) need not finish their imports.
        self.close(kill=kind is not None or not self._ran)

    def _start(self) -> tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child_end, self.work), daemon=True)
        # The worker inherits an ignored SIGINT from the moment it exists (Python keeps it
        # ignored), so a Ctrl-C during its start-up prints no traceback there.
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            process.start()
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
        child_end.close()
        self._workers.append((process, parent_end))
        return process, parent_end

    def close(self, *, kill: bool = False) -> None:
        """Stop every worker (at once with ``kill``, else once idle), and reap them all."""
        for process, connection in self._workers:
            try:
                connection.send(None)
            except OSError:
                pass
        for process, connection in self._workers:
            if kill:
                process.kill()
            process.join(timeout=5.0)
            if process.is_alive():
                process.kill()
                process.join()
            connection.close()
        self._workers.clear()

    def run(self, work: Sequence[tuple[Any, ...]], done: Callable[[int, Outcome], None]) -> None:
        """Run every batch of arguments in ``work``; call ``done(index, outcome)`` as each
        finishes (in the order they finish), the parent's thread only."""
        self._ran = True
        todo = deque(range(len(work)))
        busy: dict[multiprocessing.connection.Connection, int] = {}
        idle = [connection for _, connection in self._workers]
        process_of = {connection: process for process, connection in self._workers}

        def hand_out(connection: multiprocessing.connection.Connection) -> None:
            if todo:
                index = todo.popleft()
                busy[connection] = index
                try:
                    connection.send((index, work[index]))
                except OSError:  # it died idle
                    died(connection)

        def died(connection: multiprocessing.connection.Connection) -> None:
            process = process_of[connection]
            process.join()
            index = busy.pop(connection)
            done(index, Outcome(problem=f"{_how_it_died(process)} (pid {process.pid})"))
            if todo:  # a fresh worker takes the rest: one death costs one batch
                new_process, new_connection = self._start()
                process_of[new_connection] = new_process
                hand_out(new_connection)

        for connection in idle:
            hand_out(connection)
        while busy:
            sentinels = {process_of[c].sentinel: c for c in busy}
            ready = multiprocessing.connection.wait([*busy, *sentinels])
            for connection in [r for r in ready if r in busy]:
                try:
                    index, ok, value = connection.recv()
                except (EOFError, OSError):
                    died(connection)
                    continue
                del busy[connection]
                done(index, Outcome(value=value) if ok else Outcome(problem=f"raised {value}"))
                hand_out(connection)
            for sentinel in [r for r in ready if r in sentinels]:
                connection = sentinels[sentinel]
                # Not busy: answered or reported above. Readable: its answer (or EOF) is
                # read on the next round.
                if connection in busy and not connection.poll():
                    died(connection)


Progress = Callable[[str, int, int], None]


def run_batches(
    pool: WorkerPool,
    count: int,
    arguments: Callable[[range], tuple[Any, ...]],
    progress: Progress | None = None,
) -> list[tuple[range, Outcome]]:
    """Split ``count`` items into batches, run each in the pool with ``arguments(batch)``,
    and return every batch with its outcome, in the items' order."""
    ranges = batches(count, pool.jobs)
    outcomes: list[Outcome] = [Outcome(problem="never ran")] * len(ranges)
    finished = 0

    def done(index: int, outcome: Outcome) -> None:
        nonlocal finished
        outcomes[index] = outcome
        finished += len(ranges[index])
        if progress is not None:
            progress("replayed", finished, count)

    pool.run([arguments(r) for r in ranges], done)
    return list(zip(ranges, outcomes))
