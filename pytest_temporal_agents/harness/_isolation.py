"""``temporal.isolated()``: a fresh harness per hypothesis example, inside one test.

Hypothesis runs every example of a ``@given`` test against the same function-scoped
fixtures, so the test's own ``temporal`` would carry one example's faults, mocks and
workers into the next. An isolated scope is a new harness on the same server with its own
task queue and ids; closing it does what the fixture's teardown does (checks, then stop the
workers and settle the workflows), so a failing example reads like a failing test. If the
body raises, the timelines of its workflows are attached to the exception as notes: the
minimal failing example hypothesis reports comes with what its workflows did.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING

from .._errors import TemporalAgentsError

if TYPE_CHECKING:
    from .._context import TestContext

#: Settings a scope inherits from the test's harness when that harness has them.
INHERITED = ("replay_check", "seed")
#: At most this many workflow timelines are attached to a failing scope's exception.
MAX_NOTES = 3

#: Numbers the scopes of a process, so that their ids never clash.
scopes = itertools.count(1)


class IsolatedChecksFailed(TemporalAgentsError, AssertionError):
    """The checks at the end of an isolated scope found problems (listed one per line)."""


async def attach_timelines(err: BaseException, ctx: TestContext) -> None:
    """Add the timelines of a scope's first workflows to the exception that ended it."""
    add_note = getattr(err, "add_note", None)  # Python 3.11+
    if add_note is None:
        return
    for workflow_id in list(ctx.started_ids)[:MAX_NOTES]:
        with contextlib.suppress(Exception):  # a note must never replace the real failure
            history = await ctx.history(workflow_id)
            add_note(f"temporal workflow {workflow_id} ({history.status}):\n{history.timeline()}")
