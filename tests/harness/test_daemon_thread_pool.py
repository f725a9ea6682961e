"""The activity thread pool: a ThreadPoolExecutor whose threads never hold the process open."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import threading
from textwrap import dedent

import pytest

from pytest_temporal_agents.harness._threads import DaemonThreadPool


def test_it_runs_work_and_hands_back_results_and_errors() -> None:
    pool = DaemonThreadPool(max_workers=2)
    assert isinstance(pool, concurrent.futures.ThreadPoolExecutor)  # the SDK cancels into these only
    assert pool.submit(lambda a, b: a + b, 2, b=3).result(timeout=5) == 5
    failing = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    pool.shutdown()


def test_its_threads_are_daemons_and_reused_when_idle() -> None:
    pool = DaemonThreadPool(max_workers=4, thread_name_prefix="t")
    names = {pool.submit(lambda: threading.current_thread().name).result(timeout=5) for _ in range(5)}
    assert names == {"t_0"}  # one at a time: the idle thread takes the next piece of work
    daemons = pool.submit(lambda: threading.current_thread().daemon).result(timeout=5)
    assert daemons is True
    pool.shutdown()


def test_it_never_runs_more_threads_than_its_limit() -> None:
    pool = DaemonThreadPool(max_workers=2)
    release = threading.Event()
    running = [pool.submit(release.wait, 5) for _ in range(3)]
    third = running[2]
    assert not third.done()
    assert len({t for t in threading.enumerate() if t.name.startswith("temporal-activity_")}) >= 2
    release.set()
    assert all(f.result(timeout=5) for f in running)
    pool.shutdown()


def test_shutdown_cancels_queued_work_and_refuses_new_work() -> None:
    pool = DaemonThreadPool(max_workers=1)
    release = threading.Event()
    busy = pool.submit(release.wait, 5)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)
    release.set()
    assert busy.result(timeout=5) is True


def test_a_thread_that_never_stops_does_not_hold_the_process() -> None:
    script = dedent(
        """
        import time
        from pytest_temporal_agents.harness._threads import DaemonThreadPool

        def forever():
            while True:
                try:
                    time.sleep(0.05)
                except BaseException:
                    pass

        pool = DaemonThreadPool(max_workers=1)
        pool.submit(forever)
        pool.shutdown(wait=False, cancel_futures=True)
        print("main done")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main done"
