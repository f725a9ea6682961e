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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .._errors import TemporalAgentsError

if TYPE_CHECKING:
    from ._harness import TemporalHarness

#: Settings a scope inherits from the test's harness when that harness has them.
INHERITED = ("replay_check", "seed")
#: At most this many workflow timelines are attached to a failing scope's exception.
MAX_NOTES = 3

_scopes = itertools.count(1)


class IsolatedChecksFailed(TemporalAgentsError, AssertionError):
    """The checks at the end of an isolated scope found problems (listed one per line)."""


@asynccontextmanager
async def isolated_scope(
    parent: TemporalHarness, label: str, *, replay_check: bool | None = None
) -> AsyncIterator[TemporalHarness]:
    """Yield a new harness sharing ``parent``'s server; verify and close it at the end."""
    base = parent.id_prefix.rsplit("-", 1)[0]
    child = type(parent)(parent.env, test_id=f"{base}-{label}-{next(_scopes)}", timeout=parent.timeout)
    child._isolated = True
    for name in INHERITED:
        if hasattr(parent, name):
            setattr(child, name, getattr(parent, name))
    if replay_check is not None:
        child.replay_check = replay_check
    # Histories are recorded per test, not per example.
    if hasattr(child, "record_histories_to"):
        child.record_histories_to = None
    problems: list[str] = []
    try:
        yield child
    except BaseException as err:
        child.test_failed = True
        await _attach_timelines(err, child)
        await child.close()
        raise
    try:
        problems = await child.verify()
    finally:
        await child.close()
    if problems:
        raise IsolatedChecksFailed("\n".join(problems))


async def _attach_timelines(err: BaseException, harness: TemporalHarness) -> None:
    add_note = getattr(err, "add_note", None)  # Python 3.11+
    if add_note is None:
        return
    for workflow_id in harness.started_workflows[:MAX_NOTES]:
        with contextlib.suppress(Exception):  # a note must never replace the real failure
            history = await harness.history(workflow_id)
            add_note(f"temporal workflow {workflow_id} ({history.status}):\n{history.timeline()}")
