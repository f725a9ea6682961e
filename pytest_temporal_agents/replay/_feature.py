"""Harness feature: replay checks at teardown, history recording, explicit replays.

At teardown every workflow the test ran (the ones it started, their continued-as-new runs
and their child workflows) is replayed from its real history against the workflow classes
the test registered, in a fresh interpreter when possible (see :mod:`._replay_process`).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import temporalio.worker
from temporalio.client import WorkflowHandle
from temporalio.workflow import NondeterminismError

from .._context import TestContext
from .._errors import HarnessUsageError, TemporalAgentsWarning
from .._sdk import workflow_name
from ..history import (
    RECORDED_NAME,
    History,
    HistoryFileError,
    load_history_file,
    recorded_file_name,
    save_history_file,
)
from ._engine import INVALID, ReplayConfig, ReplayResult, replay_histories
from ._nondeterminism import parse_sdk_failure
from ._report import Report, nondeterminism_report, sandbox_report

if TYPE_CHECKING:
    from ._process import TeardownReplay

#: A workflow that continues as new forever must not make teardown fetch forever.
MAX_RUNS_PER_WORKFLOW = 50

NO_WORKFLOWS = """\
temporal.replay() has no workflow classes to replay against: this test registered none.
Pass workflows=[MyWorkflow, ...]."""


@dataclass(frozen=True)
class _Ran:
    """A workflow run the test caused, with its history."""

    label: str
    history: History


class ReplayFeature:
    """Replay checks and recording; the plugin sets the three attributes per test (through
    the harness). Hooks: :meth:`worker_options`, and at teardown :meth:`record_histories`
    then :meth:`check_replay`.

    Attributes:
        replay_check: replay every workflow the test ran at teardown (default True).
        record_histories_to: directory to write this test's histories into, or None.
        test_failed: the test body failed; teardown problems then stay one line each.
    """

    replay_check: bool
    record_histories_to: Path | None
    test_failed: bool

    def __init__(self, ctx: TestContext) -> None:
        self._ctx = ctx
        self.replay_check = True
        self.record_histories_to = None
        self.test_failed = False
        self._ran_cache: list[_Ran] | None = None
        #: What the test's workers were given beyond the defaults (see replay_config).
        self._worker_setup: dict[str, Any] = {}

    def worker_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self._worker_setup.update(
            {key: options[key] for key in ("plugins", "interceptors", "workflow_runner") if key in options}
        )
        # By default a sandbox violation or a nondeterminism error fails the workflow *task*,
        # which the server retries every 10 s: the workflow hangs and the test waits for its
        # timeout. Failing the workflow instead ends the test at once, with the SDK's message.
        if self.replay_check:
            types = list(options.get("workflow_failure_exception_types", ()))
            if not any(issubclass(NondeterminismError, t) for t in types):
                options["workflow_failure_exception_types"] = [*types, NondeterminismError]
        return options

    def replay_config(self) -> ReplayConfig:
        """The configuration the test's workers ran with: the client's converter and the
        worker plugins it carries, and the plugins, workflow interceptors and runner the
        workers were given (the harness's own interceptors excepted)."""
        active = self._ctx.client.config(active_config=True)
        setup = self._worker_setup
        client_plugins = [p for p in active["plugins"] if isinstance(p, temporalio.worker.Plugin)]
        # Plugins configure the replayer's converter themselves, from the one the client
        # started with (the Agents SDK's plugin refuses a converter it configured already).
        unconfigured = self._ctx.client.config()["data_converter"]
        return ReplayConfig(
            data_converter=unconfigured if client_plugins else active["data_converter"],
            written_with=active["data_converter"],
            plugins=[*client_plugins, *setup.get("plugins", ())],
            interceptors=[
                i for i in setup.get("interceptors", ()) if isinstance(i, temporalio.worker.Interceptor)
            ],
            workflow_runner=setup.get("workflow_runner"),
        )

    def prepare_replay_check(self) -> None:
        """Called by the plugin once the test's settings are known."""
        if self.replay_check:
            from ._process import warm_up

            warm_up()

    # -- public -----------------------------------------------------------------------------------
    async def save_history(self, handle: WorkflowHandle[Any, Any] | str, path: str | os.PathLike[str]) -> Path:
        """Save a workflow's history as JSON, for replay tests and CI.

        Args:
            handle: the workflow's handle, or its workflow id.
            path: the file to write (directories are created).

        Returns:
            The path written.
        """
        return save_history_file(await self._ctx.history(handle), Path(path))

    async def replay(
        self,
        source: WorkflowHandle[Any, Any] | str | History | os.PathLike[str],
        *,
        workflows: list[type] | None = None,
    ) -> ReplayResult:
        """Replay one history against workflow classes now, and say whether it still fits.

        Args:
            source: a workflow handle or id (its history is fetched from the server), a
                :class:`History`, or the path of a history JSON file.
            workflows: the classes to replay against; default: the ones this test registered.

        Returns:
            The result: ``result.ok``, and ``result.report`` explaining a failure.
            ``result.raise_for_status()`` fails the test with that report.

        Raises:
            HarnessUsageError: there are no workflow classes to replay against.
        """
        classes = list(workflows) if workflows is not None else list(self._ctx.registered_workflows.values())
        if not classes:
            raise HarnessUsageError(NO_WORKFLOWS)
        same_code = False
        if isinstance(source, History):
            label, history = f"workflow {source.workflow_id!r}", source
        elif isinstance(source, os.PathLike):
            label = os.fspath(source)
            try:
                history = load_history_file(source)
            except HistoryFileError as err:
                return ReplayResult(source=label, workflow_type="?", status=INVALID, headline=str(err).splitlines()[0], report=str(err))
        else:
            history = await self._ctx.history(source)
            label, same_code = f"workflow {history.workflow_id!r}", True
        [result] = await replay_histories(
            [(label, history)], classes, config=self.replay_config(), compare_inputs=same_code
        )
        return result

    # -- teardown ----------------------------------------------------------------------------------
    async def _ran_histories(self) -> list[_Ran]:
        """Histories of every run the test caused, fetched once for all teardown checks."""
        if self._ran_cache is not None:
            return self._ran_cache
        registered = {workflow_name(cls) for cls in list(self._ctx.registered_workflows.values())}
        ran: list[_Ran] = []
        seen: set[str] = set()
        pending = [(f"workflow {s.workflow_id!r}", s.workflow_id, s.run_id) for s in self._ctx.started.values()]
        while pending:
            label, workflow_id, run_id = pending.pop(0)
            for run in range(MAX_RUNS_PER_WORKFLOW):
                try:
                    history = await self._ctx.history(workflow_id, run_id=run_id)
                except Exception as err:  # noqa: BLE001 - the checks go on without this one
                    warnings.warn(
                        f"pytest-temporal-agents: could not fetch the history of {label} for the "
                        f"replay check: {err}",
                        TemporalAgentsWarning,
                        stacklevel=2,
                    )
                    break
                events = history.events
                key = history.raw.run_id or f"{workflow_id}/{run_id}"
                if not events or key in seen:
                    break
                seen.add(key)
                ran.append(_Ran(label if run == 0 else f"{label} (run {run + 1})", history))
                pending.extend(_children(events, registered))
                last = events[-1]
                if not last.HasField("workflow_execution_continued_as_new_event_attributes"):
                    break
                run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        self._ran_cache = ran
        return ran

    async def record_histories(self) -> list[str]:
        directory = self.record_histories_to
        if directory is None or self.test_failed:
            return []
        # Only workflows of user code: a mocked child's stand-in or the harness's own helper
        # workflows would be histories no user workflow class can replay in CI.
        own = {workflow_name(cls) for cls in list(self._ctx.registered_workflows.values()) if not _is_ours(cls)}
        ran = [item for item in await self._ran_histories() if item.history.workflow_type in own]
        if not ran:
            return []
        try:
            # Re-recording replaces the test's whole set: a workflow it no longer runs must
            # not leave a stale history behind for CI to replay.
            if directory.is_dir():
                for old in directory.glob("*.json"):
                    if RECORDED_NAME.match(old.name):
                        old.unlink()
            counts: Counter[str] = Counter()
            for item in ran:
                counts[item.history.workflow_type] += 1
                name = recorded_file_name(item.history.workflow_type, counts[item.history.workflow_type])
                save_history_file(item.history, directory / name)
        except OSError as err:
            return [f"- could not record the histories into {str(directory)!r}: {err}"]
        return []

    async def check_replay(self) -> list[str]:
        return await (await self.start_replay_check()).problems()

    async def start_replay_check(self) -> ReplayCheck:
        """Fetch the histories and start replaying them; the problems come from the result.

        The replay itself runs in the helper interpreter when it can (see ``_process``), so
        the result may be awaited later, from another event loop, or waited for with no
        loop at all (:meth:`ReplayCheck.wait`).
        """
        if not self.replay_check:
            return ReplayCheck([], None, self._problem)
        ran = await self._ran_histories()
        classes = list(self._ctx.registered_workflows.values())
        known = {workflow_name(cls) for cls in classes}
        problems: list[str] = []
        replayable: list[tuple[str, History]] = []
        for item in ran:
            report = _task_failure_report(item)
            if report is not None:
                problems.append(self._problem(item.label, item.history.workflow_type, report.headline, report.text))
            elif item.history.workflow_type in known:
                replayable.append((item.label, item.history))
        if not replayable:
            return ReplayCheck(problems, None, self._problem)
        from ._process import start_teardown_replay

        return ReplayCheck(
            problems, start_teardown_replay(replayable, classes, config=self.replay_config()), self._problem
        )

    def _problem(self, label: str, workflow_type: str, headline: str, text: str) -> str:
        lines = text.splitlines() or [f"{label} ({workflow_type}) does not replay: {headline}"]
        if self.test_failed:  # keep the test's own failure in front: its title line only
            return f"- {lines[0]}"
        return "\n".join([f"- {lines[0]}", *(f"  {line}".rstrip() for line in lines[1:])])


class ReplayCheck:
    """The teardown replay check of one test, under way (see :meth:`ReplayFeature.start_replay_check`).

    ``deferrable``: its answer may be collected later (the replay runs in the helper
    interpreter and no problem is known yet); :meth:`wait` collects it from synchronous
    code, :meth:`problems` from a coroutine. Each problem is one ``- ...`` entry, as
    :meth:`ReplayFeature.check_replay` returns them.
    """

    def __init__(
        self,
        known: list[str],
        replay: TeardownReplay | None,
        problem: Callable[[str, str, str, str], str],
    ) -> None:
        self._known = known
        self._replay = replay
        self._problem = problem

    @property
    def deferrable(self) -> bool:
        return not self._known and self._replay is not None and self._replay.in_helper

    def _from(self, results: list[ReplayResult]) -> list[str]:
        return [*self._known, *(self._problem(r.source, r.workflow_type, r.headline, r.report) for r in results if not r.ok)]

    async def problems(self) -> list[str]:
        return self._from(await self._replay.results()) if self._replay is not None else list(self._known)

    def wait(self) -> list[str]:
        """:meth:`problems` for synchronous code (a pytest hook): never raises, and needs no
        event loop when the helper answered that everything replays."""
        if self._replay is None:
            return list(self._known)
        finished = self._replay.finished_results()
        if finished is not None:
            return self._from(finished)
        from ..servers import run_in_fresh_loop

        try:
            return run_in_fresh_loop(self.problems)
        except Exception as err:  # noqa: BLE001 - reported on the test, never lost
            return [f"- the determinism replay check could not finish: {err!r}"]


def _is_ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] == __name__.split(".")[0]


def _children(events: Any, registered: set[str]) -> list[tuple[str, str, str | None]]:
    found = []
    for event in events:
        if event.HasField("child_workflow_execution_started_event_attributes"):
            attrs = event.child_workflow_execution_started_event_attributes
            if attrs.workflow_type.name in registered:
                execution = attrs.workflow_execution
                found.append((f"child workflow {execution.workflow_id!r}", execution.workflow_id, execution.run_id))
    return found


def _task_failure_report(item: _Ran) -> Report | None:
    """A workflow task that failed for determinism's sake while the workflow really ran."""
    events = item.history.events
    report = sandbox_report(item.label, item.history.workflow_type, events)
    if report is not None:
        return report
    for event in events:
        failure = None
        if event.HasField("workflow_task_failed_event_attributes"):
            failure = event.workflow_task_failed_event_attributes.failure
        elif event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
        if failure is not None and ("TMPRL1100" in failure.message or "Nondeterminism" in failure.message):
            return nondeterminism_report(
                label=item.label,
                workflow_type=item.history.workflow_type,
                events=events,
                failure=parse_sdk_failure(failure.message),
                divergence=None,
            )
    return None
