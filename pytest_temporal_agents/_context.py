"""The per-test state that every feature of the harness receives.

One :class:`TestContext` per test (and per ``temporal.isolated()`` scope) holds what the
features share: the environment and the test's client, its task queue and workflow-id
prefix, the workflows it started, the workers running for it, and two services the harness
provides (the enriched history of a workflow, and a result wait that fails instead of
hanging). Features read and update this state; they never reach into each other, and the
harness (``harness/_lifecycle.py``) decides in which order they act.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from .history import History


#: The prefix of every activity and workflow name the harness registers for itself (mocked
#: children's stand-ins, delayed calls): never the test's code, so never wrapped with faults,
#: re-run by saga checks or shown in trajectories.
INTERNAL_PREFIX = "pytest-temporal-agents:"


@dataclass
class StartedWorkflow:
    """A workflow this test started, whichever way it was started."""

    workflow_id: str
    run_id: str | None
    workflow_type: str


@dataclass(eq=False)
class WorkerRecord:
    """A worker running for this test: what it was asked to register, and who stops it."""

    worker: Worker
    task_queue: str
    workflows: list[type]
    activities: list[Callable[..., Any]]
    #: Started by the harness (run/start, crash restarts, delayed calls): stopped at teardown.
    #: A worker of ``async with temporal.worker(...)`` is the test's own.
    background: bool
    executor: concurrent.futures.ThreadPoolExecutor | None = None
    #: Shut down by an injected worker crash; its replacement is another record.
    crashed: bool = False
    #: The harness's own helper (delayed calls): registers none of the test's code.
    helper: bool = False


class HistoryService(Protocol):
    def __call__(
        self, handle: WorkflowHandle[Any, Any] | str, run_id: str | None = None
    ) -> Awaitable[History]: ...


class ResultService(Protocol):
    def __call__(
        self, handle: WorkflowHandle[Any, Any], *, timeout: timedelta | None = None
    ) -> Awaitable[Any]: ...


def slug(text: str, limit: int = 40) -> str:
    """``text`` as lower-case letters, digits and dashes, at most ``limit`` long (its tail)."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[-limit:].lstrip("-") or "test"


@dataclass(eq=False)
class TestContext:
    """Everything one test's features share (see the module docstring)."""

    __test__ = False  # not a pytest test class

    env: WorkflowEnvironment
    #: The test's client: it records every workflow started through it (the harness's).
    client: Client
    task_queue: str
    id_prefix: str
    timeout: timedelta
    #: A ``temporal.isolated()`` scope inside one test (a hypothesis example), not a test.
    isolated: bool = False
    started: dict[str, StartedWorkflow] = field(default_factory=dict)
    #: Every workflow class a worker of this test registered, by workflow type name.
    registered_workflows: dict[str, type] = field(default_factory=dict)
    workers: list[WorkerRecord] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Set by the harness: the workflow's history with what features add to it.
    history: HistoryService = field(init=False)
    #: Set by the harness: a workflow's result, failing with a diagnosis instead of hanging.
    result: ResultService = field(init=False)
    #: Set by the harness: ``await ensure_worker(method, workflow, task_queue, workflows,
    #: activities)`` makes a worker with those registrations poll the queue; returns the queue.
    ensure_worker: Callable[..., Awaitable[str]] = field(init=False)
    #: Set by the harness: ``async with worker(workflows=..., activities=..., task_queue=...)``.
    worker: Callable[..., AbstractAsyncContextManager[Worker]] = field(init=False)

    def new_workflow_id(self, hint: str = "wf") -> str:
        """A workflow id unique to this test: ``<test>-<uuid8>-<hint>-<n>``."""
        return f"{self.id_prefix}-{slug(hint, 30)}-{next(self._ids)}"

    def polling(self, task_queue: str) -> list[WorkerRecord]:
        """The workers of this test that poll ``task_queue``, oldest first."""
        return [record for record in self.workers if record.task_queue == task_queue]

    @property
    def started_ids(self) -> Sequence[str]:
        """Ids of every workflow this test started through its client."""
        return list(self.started)
