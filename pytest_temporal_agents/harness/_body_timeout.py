"""The test's timeout bounds the whole test body, not only the workflows it waits for.

A test can wait forever outside any workflow result: on a stream whose worker never sends,
an ``asyncio.Event`` nobody sets, a queue nobody fills. ``temporal.run`` and
``handle.result()`` already fail with a diagnosis of the workflow after the timeout; the
body as a whole gets the same limit plus :data:`BODY_GRACE` (so that a workflow's own,
richer report comes first when the body waits on a workflow), and then fails naming the
line it was waiting at.
"""

from __future__ import annotations

import asyncio
import functools
import linecache
from collections.abc import Callable, Coroutine
from datetime import timedelta
from types import CoroutineType, FrameType
from typing import Any

from .._errors import BodyTimeoutError

#: Beyond the test's timeout, before the body is stopped: a workflow's own report comes first.
BODY_GRACE = timedelta(seconds=2)
#: How long a stopped body may take to unwind after it was cancelled.
UNWIND = 2.0

BODY_TIMEOUT = """\
The test did not finish within {limit:g} s of wall time (its Temporal timeout, {timeout:g} s, plus \
{grace:g} s), and it was not waiting for a workflow result: the harness stopped it. It was waiting at:
{where}
Raise the limit with --temporal-timeout, the ini option temporal_timeout or \
@pytest.mark.temporal(timeout=...) if it is just slow."""


def bounded_body(
    body: Callable[..., Coroutine[Any, Any, Any]], timeout: timedelta
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """``body`` (an async test function) failing with :class:`BodyTimeoutError` after
    ``timeout`` plus :data:`BODY_GRACE` instead of waiting forever."""
    limit = (timeout + BODY_GRACE).total_seconds()

    @functools.wraps(body)
    async def run_bounded(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        task = asyncio.ensure_future(body(*args, **kwargs))
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done:
            return task.result()
        where = waiting_at(task)
        task.cancel()
        await asyncio.wait({task}, timeout=UNWIND)
        if not task.done():
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise BodyTimeoutError(
            BODY_TIMEOUT.format(
                limit=limit,
                timeout=timeout.total_seconds(),
                grace=BODY_GRACE.total_seconds(),
                where=where,
            )
        )

    return run_bounded


def waiting_at(task: asyncio.Future[Any]) -> str:
    """Where a suspended task's coroutine chain waits, outermost first, one frame per line."""
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    lines = []
    awaited: Any = coro
    while awaited is not None:
        frame: FrameType | None = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is None and not isinstance(awaited, CoroutineType):
            if isinstance(awaited, asyncio.Future):  # a future's iterator says nothing more
                lines.append(f"  awaiting {_describe(awaited)}")
            break
        if frame is not None:
            code = frame.f_code
            source = linecache.getline(code.co_filename, frame.f_lineno).strip()
            lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}: {source}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    return "\n".join(lines) if lines else "  (unknown: the test's coroutine had no frame)"


def _describe(awaitable: Any) -> str:
    text = repr(awaitable)
    return text if len(text) <= 200 else text[:197] + "..."
