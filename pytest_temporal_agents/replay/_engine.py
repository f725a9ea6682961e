"""Replay histories against workflow code: the engine behind every replay the plugin does.

One engine serves the teardown check, the pytest items for recorded histories, the
``python -m pytest_temporal_agents replay`` command and :meth:`TemporalHarness.replay`:
:func:`replay_histories` validates each history (a malformed one never reaches the SDK
core, which panics or hangs on some), replays them all through one SDK ``Replayer``, and
explains every failure with the readable report of :mod:`._report`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.worker import Replayer, WorkflowRunner

from .._errors import TemporalAgentsError, TemporalConfigError
from .._sdk import sandboxed_runner, workflow_name
from ..history import History, HistoryFileError, check_events, find_history_files, load_history_file
from ._nondeterminism import (
    CommandRecorder,
    Scheduled,
    find_divergence,
    parse_sdk_failure,
    scheduled_in_history,
)
from ._report import error_report, nondeterminism_report
from ._source_scan import scan_workflow

#: A replay of a few hundred histories takes seconds; this only stops a hang in the SDK.
REPLAY_TIMEOUT_SECONDS = 300.0

OK = "ok"
NONDETERMINISTIC = "nondeterministic"
ERROR = "error"  # the workflow code raised during replay
INVALID = "invalid"  # the history could not be read, or no workflow class matches it

UNKNOWN_TYPE = """\
{source} is a history of workflow type {workflow_type!r}, which none of the workflows \
replayed against defines.
Known workflow types: {known}.
Add the class to the workflows (temporal_workflows / --workflows / registered workers)."""

BAD_WORKFLOWS_SPEC = """\
Invalid workflows {spec!r} ({source}): {problem}.
Expected "pkg.module:ATTR", where ATTR is a @workflow.defn class or a list/tuple of them,
e.g. temporal_workflows = "myapp.workflows:ALL_WORKFLOWS"."""


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying one history.

    Attributes:
        source: what was replayed: a file path, or ``workflow '<id>'``.
        workflow_type: the history's workflow type ("?" if unreadable).
        status: ``ok``, ``nondeterministic``, ``error`` (the code raised during replay) or
            ``invalid`` (unreadable history, or no workflow class for its type).
        headline: one line saying what went wrong and where ("" when ok).
        report: the readable report ("" when ok).
        event_id: the history event the replay diverged at, when known.
        events: number of events in the history.
        sdk_message: the SDK's own error message, if it gave one.
    """

    source: str
    workflow_type: str
    status: str
    headline: str = ""
    report: str = ""
    event_id: int | None = None
    events: int = 0
    sdk_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def line(self) -> str:
        """One line for a listing: status, source, and the headline or the history's size."""
        detail = self.headline if not self.ok else f"{self.workflow_type}, {self.events} events"
        return f"{self.status.upper():<17} {self.source}  {detail}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplayResult:
        return cls(**data)

    def raise_for_status(self) -> None:
        """Raise :class:`ReplayFailed` with the report unless the replay was ok."""
        if not self.ok:
            raise ReplayFailed(self)


class ReplayFailed(TemporalAgentsError, AssertionError):
    """A history did not replay; the message is the readable report.

    It is an ``AssertionError`` too, so pytest reports it as a test failure.
    """

    def __init__(self, result: ReplayResult) -> None:
        super().__init__(result.report or result.headline)
        self.result = result


# -- reading histories and workflows -----------------------------------------------------------------


def load_workflows(spec: str, source: str = "--workflows") -> list[type]:
    """Import ``pkg.module:ATTR``: one workflow class, or a list/tuple of them.

    Raises:
        TemporalConfigError: not in that form, not importable, or not workflow classes.
    """
    module_name, _, attr = spec.strip().partition(":")
    if not module_name or not attr:
        raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=spec, source=source, problem="no ':'"))
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any import failure is a config problem here
        problem = f"cannot import {module_name!r}: {type(err).__name__}: {err}"
        raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=spec, source=source, problem=problem)) from None
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            problem = f"{module_name!r} has no attribute {attr!r}"
            raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=spec, source=source, problem=problem))
        value = getattr(value, part)
    classes = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    for cls in classes:
        try:
            workflow_name(cls)
        except Exception:  # noqa: BLE001 - _names raises its own usage error
            problem = f"{cls!r} is not a @workflow.defn class"
            raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=spec, source=source, problem=problem)) from None
    if not classes:
        raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=spec, source=source, problem="it is empty"))
    return classes


def load_workflow_specs(specs: str, source: str = "--workflows") -> list[type]:
    """Several ``pkg.module:ATTR`` specs, separated by spaces or commas, loaded in order.

    Raises:
        TemporalConfigError: a spec is bad (see :func:`load_workflows`), or there is none.
    """
    found: list[type] = []
    for spec in specs.replace(",", " ").split():
        found.extend(cls for cls in load_workflows(spec, source) if cls not in found)
    if not found:
        raise TemporalConfigError(BAD_WORKFLOWS_SPEC.format(spec=specs, source=source, problem="it is empty"))
    return found


# -- replaying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayConfig:
    """How the workers that wrote the histories were configured, so that a replay runs the
    same code the same way: their data converter, their (worker) plugins, their workflow
    interceptors, and their workflow runner (default: the harness's sandbox)."""

    data_converter: DataConverter | None = None
    plugins: Sequence[Any] = ()
    interceptors: Sequence[Any] = ()
    workflow_runner: WorkflowRunner | None = None
    #: The converter the payloads were written with, when the plugins build it from
    #: ``data_converter`` (inputs are decoded with it before they are compared).
    written_with: DataConverter | None = None

    @property
    def is_default(self) -> bool:
        """Nothing beyond the defaults: another interpreter can replay with it too."""
        return (
            self.data_converter in (None, DataConverter.default)
            and not self.plugins
            and not self.interceptors
            and self.workflow_runner is None
        )

_RUNTIME: Runtime | None = None
_EXECUTOR: concurrent.futures.ThreadPoolExecutor | None = None


def _shared() -> tuple[Runtime, concurrent.futures.ThreadPoolExecutor]:
    # The SDK's Replayer makes a thread pool per instance that it never shuts down, and a
    # runtime logs core warnings: one quiet runtime and one pool serve every replay here.
    global _RUNTIME, _EXECUTOR
    if _RUNTIME is None or _EXECUTOR is None:
        from ..servers import quiet_runtime

        _RUNTIME = quiet_runtime()
        _EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="temporal-replay")
    return _RUNTIME, _EXECUTOR


#: The sandbox of the harness's workers (test tooling passed through, each workflow class
#: validated once per process), so a replay runs what the worker ran.
_RUNNER = sandboxed_runner()


def replayer(workflows: Sequence[type], config: ReplayConfig, recorder: CommandRecorder | None) -> Replayer:
    """An SDK replayer with the shared runtime, thread pool and sandbox, and ``config``."""
    runtime, executor = _shared()
    return Replayer(
        workflows=list(workflows),
        workflow_runner=config.workflow_runner or _RUNNER,
        runtime=runtime,
        workflow_task_executor=executor,
        data_converter=config.data_converter or DataConverter.default,
        interceptors=[*config.interceptors, *([recorder] if recorder is not None else [])],
        plugins=list(config.plugins),
    )


#: Replays histories against workflow classes: per history, its failure and its commands.
BatchReplay = Callable[
    [Sequence[History], Sequence[type], ReplayConfig, "CommandRecorder | None"],
    Awaitable[list[tuple[BaseException | None, list[Any]]]],
]


async def _replay_batch(
    histories: Sequence[History],
    workflows: Sequence[type],
    config: ReplayConfig,
    recorder: CommandRecorder | None,
) -> list[tuple[BaseException | None, list[Any]]]:
    """Replay in one SDK replayer; per history, its failure and the commands recorded."""
    outcomes: list[tuple[BaseException | None, list[Any]]] = []

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history.raw

    async with replayer(workflows, config, recorder).workflow_replay_iterator(feed()) as results:
        async for result in results:
            commands = recorder.commands.pop(result.history.run_id, []) if recorder is not None else []
            outcomes.append((result.replay_failure, commands))
    return outcomes


async def replay_histories(
    histories: Sequence[tuple[str, History]],
    workflows: Sequence[type],
    *,
    data_converter: DataConverter | None = None,
    compare_inputs: bool = False,
    process_dependent: Container[str] = (),
    timeout: float = REPLAY_TIMEOUT_SECONDS,
    config: ReplayConfig | None = None,
    checked: bool = False,
    batch: BatchReplay | None = None,
) -> list[ReplayResult]:
    """Replay each history against ``workflows``; one result each, in order.

    Args:
        histories: ``(source, history)`` pairs; the source names it in reports.
        workflows: the workflow classes; each history's type must be one of theirs.
        data_converter: the one the histories' payloads were written with.
        compare_inputs: also fail when the code schedules an activity or child workflow
            with other arguments than the history recorded. Only for replays against the
            code that wrote the history: later code may change arguments compatibly.
        process_dependent: sources already known to replay in another process; their
            failures are reported as depending on the process (hash seed).
        timeout: seconds before a hung replay is given up.
        config: the workers' plugins, interceptors and workflow runner (and converter,
            which ``data_converter`` overrides), when they had more than the defaults.
        checked: the histories passed :func:`check_events` already (as
            :func:`load_history_file` returns them): do not check them again.
        batch: what replays the histories (default: a new SDK replayer per call; the
            teardown's helper interpreter keeps one open across calls).
    """
    batch = batch or _replay_batch
    config = config or ReplayConfig()
    if data_converter is not None:
        config = replace(config, data_converter=data_converter)
    known = {workflow_name(cls): cls for cls in workflows}
    results: list[ReplayResult | None] = []
    runnable: list[tuple[int, str, History]] = []
    for source, history in histories:
        problem = None if checked else check_events(history)
        if problem is None and history.workflow_type not in known:
            problem = UNKNOWN_TYPE.format(
                source=source, workflow_type=history.workflow_type, known=", ".join(sorted(known)) or "(none)"
            )
        elif problem is not None:
            problem = f"{source} cannot be replayed: {problem}."
        if problem is not None:
            results.append(_invalid(source, problem, history))
        else:
            runnable.append((len(results), source, history))
            results.append(None)
    recorder = CommandRecorder(encode_inputs=True) if compare_inputs else None
    # Only the classes these histories need: each class a replayer gets costs a validation.
    known = {h.workflow_type: known[h.workflow_type] for _, _, h in runnable}
    if runnable:
        try:
            outcomes = await asyncio.wait_for(
                batch([h for _, _, h in runnable], list(known.values()), config, recorder), timeout
            )
        except Exception:  # noqa: BLE001 - one bad history must not cost the others their results
            outcomes = []
        for index, (slot, source, history) in enumerate(runnable):
            if index < len(outcomes):
                failure, commands = outcomes[index]
            else:  # the batch broke before this one: alone, each gets its own verdict
                failure, commands = await _replay_alone(history, known, config, recorder, timeout, batch)
            results[slot] = await _verdict(
                source, history, known, config, failure, commands,
                recorded=recorder is not None, compare_inputs=compare_inputs,
                process_dependent=source in process_dependent,
            )  # fmt: skip
    return [r for r in results if r is not None]


async def _replay_alone(
    history: History,
    known: dict[str, type],
    config: ReplayConfig,
    recorder: CommandRecorder | None,
    timeout: float,
    batch: BatchReplay | None = None,
) -> tuple[BaseException | None, list[Any]]:
    try:
        outcome = await asyncio.wait_for((batch or _replay_batch)([history], list(known.values()), config, recorder), timeout)
    except Exception as err:  # noqa: BLE001
        return RuntimeError(f"the replay did not finish: {type(err).__name__}: {err}"), []
    return outcome[0] if outcome else (RuntimeError("the replay gave no result"), [])


async def _verdict(
    source: str,
    history: History,
    known: dict[str, type],
    config: ReplayConfig,
    failure_error: BaseException | None,
    commands: list[Any],
    *,
    recorded: bool,
    compare_inputs: bool,
    process_dependent: bool,
) -> ReplayResult:
    events = history.events
    cls = known[history.workflow_type]
    base: dict[str, Any] = {"source": source, "workflow_type": history.workflow_type, "events": len(events)}
    if failure_error is None and not compare_inputs:
        return ReplayResult(status=OK, **base)  # only an input drift fails a replay the SDK passed
    scheduled = await _decoded(scheduled_in_history(events), config)
    if failure_error is None:
        drift = find_divergence(commands, scheduled, replay_failed=False, compare_inputs=compare_inputs)
        if drift is None or drift.what != "input":
            return ReplayResult(status=OK, **base)
        report = nondeterminism_report(
            label=source, workflow_type=history.workflow_type, events=events, failure=None,
            divergence=drift, findings=scan_workflow(cls), process_dependent=process_dependent,
        )  # fmt: skip
        return ReplayResult(status=NONDETERMINISTIC, headline=report.headline, report=report.text, event_id=report.event_id, **base)
    failure = parse_sdk_failure(failure_error)
    if not failure.nondeterminism:
        report = error_report(label=source, workflow_type=history.workflow_type, events=events, failure=failure)
        return ReplayResult(status=ERROR, headline=report.headline, report=report.text, sdk_message=failure.original, **base)
    if not recorded:  # the fast path replays without recording: replay this one again to see
        diagnosis = CommandRecorder(encode_inputs=True)
        _, commands = await _replay_alone(history, known, config, diagnosis, REPLAY_TIMEOUT_SECONDS)
    divergence = find_divergence(commands, scheduled, replay_failed=True)
    report = nondeterminism_report(
        label=source, workflow_type=history.workflow_type, events=events, failure=failure,
        divergence=divergence, findings=scan_workflow(cls), process_dependent=process_dependent,
    )  # fmt: skip
    return ReplayResult(
        status=NONDETERMINISTIC, headline=report.headline, report=report.text,
        event_id=report.event_id, sdk_message=failure.original, **base,
    )  # fmt: skip


async def _decoded(scheduled: list[Scheduled], config: ReplayConfig) -> list[Scheduled]:
    """The scheduled inputs as the workflow code sees them: a payload codec (a plugin's
    encryption or compression) undone, so they compare with what the code passes now."""
    converter = config.written_with or config.data_converter
    codec = converter.payload_codec if converter is not None else None
    if codec is None:
        return scheduled
    return [
        replace(s, input=Payloads(payloads=await codec.decode(list(s.input.payloads)))) for s in scheduled
    ]


def _invalid(source: str, problem: str, history: History | None = None) -> ReplayResult:
    workflow_type = history.workflow_type if history is not None else "?"
    events = len(history.events) if history is not None else 0
    headline = problem.splitlines()[0]
    return ReplayResult(source=source, workflow_type=workflow_type, status=INVALID, headline=headline, report=problem, events=events)


async def replay_files(
    paths: Iterable[str | Path],
    workflows: Sequence[type],
    *,
    data_converter: DataConverter | None = None,
    root: Path | None = None,
) -> list[ReplayResult]:
    """Replay history files (directories are searched for ``*.json``), one result each.

    Unreadable, malformed or truncated files give an ``invalid`` result, never an exception.

    Args:
        root: name files relative to this directory in results and reports.
    """
    return await replay_history_files(find_history_files(paths), workflows, data_converter=data_converter, root=root)


async def replay_history_files(
    files: Sequence[Path],
    workflows: Sequence[type],
    *,
    data_converter: DataConverter | None = None,
    root: Path | None = None,
) -> list[ReplayResult]:
    """Replay these history files, one result each, in order (see :func:`replay_files`)."""
    loaded: list[tuple[str, History]] = []
    slots: list[ReplayResult | int] = []
    for path in files:
        label = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)
        try:
            history = load_history_file(path)
        except HistoryFileError as err:
            slots.append(_invalid(label, str(err).replace(str(path), label), err.history))
            continue
        slots.append(len(loaded))
        loaded.append((label, history))
    replayed = await replay_histories(loaded, workflows, data_converter=data_converter, checked=True)
    return [replayed[s] if isinstance(s, int) else s for s in slots]


_WORKFLOWS_OF: dict[str, list[type]] = {}


def replay_file_batch(specs: str, files: Sequence[str]) -> list[dict[str, Any]]:
    """In a ``-j`` worker process: replay these files against ``specs``' workflows (imported
    once per process), and return the results as plain data."""
    if specs not in _WORKFLOWS_OF:
        # As the CLI's main: the SDK's log of a failed activation is a traceback; the report says it.
        logging.getLogger("temporalio").addHandler(logging.NullHandler())
        _WORKFLOWS_OF[specs] = load_workflow_specs(specs)
    results = asyncio.run(replay_history_files([Path(f) for f in files], _WORKFLOWS_OF[specs]))
    return [result.to_dict() for result in results]


__all__ = [
    "ReplayFailed",
    "ReplayResult",
    "load_workflow_specs",
    "load_workflows",
    "replay_file_batch",
    "replay_files",
    "replay_histories",
    "replay_history_files",
]
