"""A thread pool for synchronous activities that never holds the process open.

A synchronous activity that swallows its cancellation (``except BaseException: pass`` around
a blocking call) keeps its thread busy forever, and nothing can stop a thread from outside.
The standard ``ThreadPoolExecutor`` joins its threads when the interpreter exits, so one such
activity hung the whole pytest process after its results were printed. This pool runs each
activity on a daemon thread instead: the harness names the stuck activity in the test's
failure (:mod:`._shutdown`), and the process still ends.

It is a ``ThreadPoolExecutor`` subclass because the SDK delivers cancellation into activity
threads only for executors of that type; it reimplements ``submit`` and ``shutdown`` with public
``threading`` and ``queue`` API, so it relies on no private part of the standard library.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Work = tuple["concurrent.futures.Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonThreadPool(concurrent.futures.ThreadPoolExecutor):
    """Up to ``max_workers`` daemon threads, started as work arrives and reused when idle."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "temporal-activity") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._limit = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._started: list[threading.Thread] = []
        self._guard = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            self._queue.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._started) < self._limit:
                thread = threading.Thread(
                    target=self._serve, name=f"{self._prefix}_{len(self._started)}", daemon=True
                )
                thread.start()
                self._started.append(thread)
            return future

    def _serve(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                self._queue.put(None)  # wake the next idle thread, which ends too
                return
            future, fn, args, kwargs = work
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # noqa: BLE001 - handed to the future's owner
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del work, future, fn, args, kwargs
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._guard:
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        work = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if work is not None:
                        work[0].cancel()
            self._queue.put(None)
        if wait:
            for thread in list(self._started):
                thread.join()
