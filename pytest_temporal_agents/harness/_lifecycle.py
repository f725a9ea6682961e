"""The lifecycle of one test: which feature acts at which step, in which order.

Read top to bottom, this is what happens to a test that uses the ``temporal`` fixture:

1. Build a worker (``temporal.run`` / ``start`` / ``worker``): mocked Nexus services get
   their handler worker and endpoints first; mocks replace activities and child workflows by name, the saga feature remembers the activities, faults wrap what will
   really run (mocked and real alike); the replay feature makes nondeterminism fail fast and
   faults add their workflow interceptor to the worker options. (:meth:`Lifecycle.prepare_workers`,
   :meth:`Lifecycle.activities`, :meth:`Lifecycle.workflows`, :meth:`Lifecycle.worker_options`)
2. Start a workflow: faults adjust the start (a short workflow task timeout for crash
   tests). (:meth:`Lifecycle.adjust_start`)
3. Read a history: faults add every attempt their wrappers saw; the server keeps only each
   activity's last one. (:meth:`Lifecycle.enrich_history`)
4. Teardown checks, in this order: release the activity clock, record histories, replay
   every workflow the test ran, wait for faults in flight and list theirs, delayed calls
   nobody awaited, mock expectations, mocked Nexus endpoints deleted. The replay runs in
   the background meanwhile, and while it finishes the harness stops its background
   workers if none of the test's workflows still runs. When all else passed, the caller may
   take the replay check still running and collect it later (the plugin does so after the
   next test: ``_report_later.py``). (:meth:`Lifecycle.teardown_problems`)
5. Close: let workflow tasks in flight finish, stop the workers, terminate what still runs.
   (``TemporalHarness.close``)

A new feature is an object built in :meth:`Lifecycle.__init__` and a line in each step it
takes part in. Features get the test's :class:`~pytest_temporal_agents._context.TestContext`
and never call each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..faults import FaultsFeature
from ..mocks import ActivityClockFeature, CallbacksFeature, MocksFeature
from ..replay import ReplayFeature
from ..saga import SagaFeature

if TYPE_CHECKING:
    from temporalio.client import StartWorkflowInput

    from .._context import TestContext
    from ..history import History
    from ..replay import ReplayCheck


class Lifecycle:
    """The features of one test and the order in which they act (see the module docstring)."""

    def __init__(self, ctx: TestContext) -> None:
        self.mocks = MocksFeature(ctx)
        self.callbacks = CallbacksFeature(ctx)
        self.clock = ActivityClockFeature()
        self.faults = FaultsFeature(ctx)
        self.saga = SagaFeature(ctx)
        self.replay = ReplayFeature(ctx)

    # 1. building a worker
    async def prepare_workers(self) -> None:
        await self.mocks.serve_nexus()

    def activities(self, activities: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
        activities = self.mocks.replace_activities(activities)
        activities = self.saga.remember_activities(activities)
        return self.faults.wrap_activities(activities)

    def workflows(self, workflows: list[type]) -> list[type]:
        return self.mocks.replace_workflows(workflows)

    def worker_options(self, options: dict[str, Any]) -> dict[str, Any]:
        options = self.replay.worker_options(options)
        return self.faults.worker_options(options)

    # 2. starting a workflow
    def adjust_start(self, start: StartWorkflowInput) -> None:
        self.faults.adjust_start(start)

    # 3. reading a history
    def enrich_history(self, history: History) -> History:
        return self.faults.enrich_history(history)

    # 4. teardown checks
    async def _replay(self, may_defer: bool) -> list[str] | ReplayCheck:
        """The replay check's problems, or the check itself when it may be collected later."""
        check = await self.replay.start_replay_check()
        return check if may_defer and check.deferrable else await check.problems()

    def teardown_checks(self) -> list[Callable[[], Awaitable[list[str]]]]:
        return [
            self.clock.release,
            self.replay.record_histories,
            self.replay.check_replay,
            self.faults.problems,
            self.callbacks.problems,
            self.mocks.problems,
            self.mocks.release_nexus,
        ]

    async def teardown_problems(
        self,
        while_replaying: Callable[[], Awaitable[None]] | None = None,
        *,
        defer_replay: bool = False,
    ) -> tuple[list[str], ReplayCheck | None]:
        """Every teardown check's problems, one ``- item`` per entry, in the order above, and
        the replay check when it was deferred (else None).

        When the workers ran with the default configuration, the replay happens in another
        interpreter (see :mod:`pytest_temporal_agents.replay`), so the replay check runs in
        the background from its turn on, overlapped with the checks after it and then with
        ``while_replaying`` (the harness stops its idle workers there); its problems keep
        their place in the list. With plugins, interceptors, a converter or a runner of
        their own the replay runs in this process, with those objects, and is not
        overlapped: the Agents SDK's plugin, replaying while the test's worker stops, had
        its workflow import a module the sandbox refuses.

        ``defer_replay``: when every other check passed and the replay runs in the helper
        interpreter, do not wait for it: return it, for the caller to collect later.
        """
        overlap = self.replay.replay_config().is_default
        found: list[list[str] | asyncio.Future[list[str] | ReplayCheck]] = []
        try:
            for check in self.teardown_checks():
                if overlap and check == self.replay.check_replay:
                    found.append(asyncio.ensure_future(self._replay(defer_replay)))
                else:
                    found.append(await check())
            if while_replaying is not None:
                await while_replaying()
            others = any(entry for entry in found if not isinstance(entry, asyncio.Future))
            problems: list[str] = []
            deferred: ReplayCheck | None = None
            for entry in found:
                result = await entry if isinstance(entry, asyncio.Future) else entry
                if isinstance(result, list):
                    problems.extend(result)
                elif others:  # reported with the other problems, in its place
                    problems.extend(await result.problems())
                else:
                    deferred = result
            return problems, deferred
        finally:
            for entry in found:
                if isinstance(entry, asyncio.Future) and not entry.done():
                    entry.cancel()
                    with contextlib.suppress(BaseException):
                        await entry
