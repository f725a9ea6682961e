"""Replay in a fresh interpreter with another hash seed, as a restarted worker would.

Replaying in the process that ran the workflow misses one whole class of bugs: iterating
over a set of strings (or using ``hash()``) gives the same order in the same process, and
another order in the next worker process, because ``PYTHONHASHSEED`` differs. Measured: a
workflow that starts one child per symbol of ``set(symbols)`` replays fine in-process and
diverges in a fresh interpreter. So the teardown check replays in one long-lived helper
interpreter per test process (started on first use, ~0.6 s) whose hash seed differs from
ours; a history that fails there but replays here is reported as process-dependent.

Workflow classes that a fresh interpreter cannot import (defined in ``__main__``, inside a
function, or generated at run time), and custom data converters, replay in this process.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import importlib
import importlib.machinery
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from temporalio.api.history.v1 import History as HistoryProto
from temporalio.client import WorkflowHistory

from .._sdk import workflow_name
from ..history import History
from ._coverage import unmeasured_environment
from ._engine import NONDETERMINISTIC, ReplayConfig, ReplayResult, replay_histories, replayer
from ._nondeterminism import CommandRecorder

#: Seconds a request to the helper may take before it is killed and we replay here.
REQUEST_TIMEOUT_SECONDS = 120.0
#: After this many helper failures in one process, stop trying it.
MAX_FAILURES = 2

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from pytest_temporal_agents.replay._process import serve; serve()"
)


def other_hash_seed(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """A ``PYTHONHASHSEED`` that differs from this process's one."""
    current = (environ if environ is not None else os.environ).get("PYTHONHASHSEED", "")
    if current.isdigit():
        return str((int(current) + 1) % 4294967296)
    # Ours is random and unknown: another random one differs with near certainty.
    return str(random.SystemRandom().randrange(1, 4294967296))


def portable_ref(cls: type) -> list[str] | None:
    """``[module, qualname, file]`` when a fresh interpreter can import ``cls`` by name."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if module is None or file is None or cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None
    owner: Any = module
    for part in cls.__qualname__.split("."):
        owner = getattr(owner, part, None)
    if owner is not cls or not _found_by_name(cls.__module__):
        return None
    return [cls.__module__, cls.__qualname__, os.path.realpath(file)]


def _found_by_name(module_name: str) -> bool:
    """Whether importing ``module_name`` afresh, with today's ``sys.path``, finds the package
    this process loaded it from. Not when a test put a same-named module of another
    directory first since (``monkeypatch.syspath_prepend`` in each of two tests): the helper
    would refuse that request, and the in-process replay it falls back to must then run
    at the test's teardown, with the test's ``sys.path``, not one test later."""
    top = module_name.split(".")[0]
    loaded = getattr(sys.modules.get(top), "__file__", None)
    if loaded is None:  # a namespace package: the helper's own check decides
        return True
    try:  # the path importer's caches make this a few microseconds
        spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None)
    return origin is not None and os.path.realpath(origin) == os.path.realpath(loaded)


class FreshInterpreter:
    """The helper interpreter: JSON lines in, JSON lines out, one request at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def usable(self) -> bool:
        return self.failures < MAX_FAILURES

    def _start(self) -> subprocess.Popen[bytes]:
        # Unmeasured by coverage: a replay counts no line the run did not (_coverage.py).
        env = unmeasured_environment(os.environ)
        env["PYTHONHASHSEED"] = other_hash_seed()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the helper
        package_parent = str(Path(__file__).resolve().parents[2])
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, package_parent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        return self._proc

    def warm_up(self) -> None:
        """Start the helper now, so that it imports while the first test runs.

        Never waits: a request in progress (an earlier test's replay, reported later) holds
        the lock, and then the helper is running anyway.
        """
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self.usable and (self._proc is None or self._proc.poll() is not None):
                try:
                    self._start()
                except OSError:
                    self.failures += 1
        finally:
            self._lock.release()

    def request(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request and wait for its answer; None if the helper failed."""
        with self._lock:
            if not self.usable:
                return None
            try:
                proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(json.dumps(payload).encode() + b"\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError("the helper interpreter exited")
                answer: dict[str, Any] = json.loads(line)
                return answer
            except Exception:  # noqa: BLE001 - any failure: replay in this process instead
                self.failures += 1
                self.kill()
                return None

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - exiting anyway
            proc.kill()


_HELPER = FreshInterpreter()
atexit.register(_HELPER.close)


def warm_up() -> None:
    """Start the helper interpreter in the background (once per process)."""
    _HELPER.warm_up()


async def _ask(payload: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(_HELPER.request, payload), REQUEST_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        _HELPER.failures += 1
        _HELPER.kill()
        return None


def _payload(
    histories: Sequence[tuple[str, History]], refs: list[list[str]], process_dependent: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "cwd": os.getcwd(),
        "sys_path": list(sys.path),
        "workflows": refs,
        # Protobuf bytes: JSON costs ~5 ms a history each way, these ~0.1 ms (measured).
        "histories": [[label, h.workflow_id, _encode(h)] for label, h in histories],
        "process_dependent": list(process_dependent),
    }


def _results(answer: dict[str, Any] | None) -> list[ReplayResult] | None:
    if answer is None or "results" not in answer:
        return None
    return [ReplayResult.from_dict(r) for r in answer["results"]]


async def _replay_fresh(
    histories: Sequence[tuple[str, History]], refs: list[list[str]], process_dependent: Sequence[str] = ()
) -> list[ReplayResult] | None:
    return _results(await _ask(_payload(histories, refs, process_dependent)))


def _ask_in_background(payload: dict[str, Any]) -> concurrent.futures.Future[dict[str, Any] | None]:
    """Send ``payload`` to the helper from a daemon thread; the answer arrives in the future.

    A daemon thread, not an executor: an executor's threads are joined when the interpreter
    exits, and a helper busy with a long replay would hold pytest's exit up.
    """
    future: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()

    def _run() -> None:
        try:
            future.set_result(_HELPER.request(payload))
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(err)

    threading.Thread(target=_run, name="pytest-temporal-agents-replay", daemon=True).start()
    return future


class TeardownReplay:
    """A test's teardown replay, started by :func:`start_teardown_replay`.

    The histories that the helper interpreter can replay are sent to it at once, from a
    background thread; :meth:`results` gathers its answer (or replays here when the helper
    failed), replays here what it could not, and explains a process-dependent divergence.
    It may be awaited later and from another event loop than the one that started it: the
    plugin reports a test's replay while the next test runs (``in_helper`` says whether
    anything is left to do in this process when all goes well).
    """

    def __init__(
        self,
        histories: Sequence[tuple[str, History]],
        workflows: Sequence[type],
        config: ReplayConfig,
    ) -> None:
        self._histories = list(histories)
        self._workflows = list(workflows)
        self._config = config
        refs = {workflow_name(cls): portable_ref(cls) for cls in workflows}
        self._portable = [ref for ref in refs.values() if ref is not None]
        fresh_ok = _HELPER.usable and bool(self._portable) and config.is_default
        self._fresh = [
            i for i, (_, h) in enumerate(histories) if fresh_ok and refs.get(h.workflow_type) is not None
        ]
        self._deadline = time.monotonic() + REQUEST_TIMEOUT_SECONDS
        #: Where the test's code was importable from, for a replay here after the test's
        #: fixtures undid their `monkeypatch.syspath_prepend` or `chdir` (a deferred check).
        self._where = (os.getcwd(), list(sys.path))
        self._answer = (
            _ask_in_background(_payload([histories[i] for i in self._fresh], self._portable))
            if self._fresh
            else None
        )

    @property
    def in_helper(self) -> bool:
        """Every history went to the helper interpreter (none waits to replay here)."""
        return len(self._fresh) == len(self._histories)

    async def _fresh_results(self) -> list[ReplayResult] | None:
        if self._answer is None:
            return None
        try:
            answer = await asyncio.wait_for(
                asyncio.wrap_future(self._answer), max(0.0, self._deadline - time.monotonic())
            )
        except asyncio.TimeoutError:
            _HELPER.failures += 1
            _HELPER.kill()
            return None
        except Exception:  # noqa: BLE001 - replay here instead
            return None
        return _results(answer)

    async def results(self) -> list[ReplayResult]:
        """One result per history, in order."""
        histories, workflows, config = self._histories, self._workflows, self._config
        results: dict[int, ReplayResult] = {}
        answer = await self._fresh_results()
        if answer is not None and len(answer) == len(self._fresh):
            results.update(zip(self._fresh, answer))
        here = [i for i in range(len(histories)) if i not in results]
        if here:
            with _importable_as_at(self._where):
                replayed = await replay_histories(
                    [histories[i] for i in here], workflows, config=config, compare_inputs=True
                )
            results.update(zip(here, replayed))
        # Nondeterministic there: does it replay here? Then it depends on the process.
        suspects = [i for i in results if i not in here and results[i].status == NONDETERMINISTIC]
        if suspects:
            with _importable_as_at(self._where):
                again = await replay_histories(
                    [histories[i] for i in suspects], workflows, config=config, compare_inputs=True
                )
            dependent = [i for i, result in zip(suspects, again) if result.ok]
            if dependent:
                labels = [histories[i][0] for i in dependent]
                explained = await _replay_fresh(
                    [histories[i] for i in dependent], self._portable, process_dependent=labels
                )
                if explained is not None:
                    results.update(zip(dependent, explained))
        return [results[i] for i in range(len(histories))]

    def finished_results(self) -> list[ReplayResult] | None:
        """The results without an event loop, when the helper answered and all replayed:
        None when anything is left to do (then await :meth:`results`)."""
        if not self.in_helper or self._answer is None or not self._answer.done():
            return None
        if self._answer.cancelled() or self._answer.exception() is not None:
            return None
        answer = _results(self._answer.result())
        if answer is None or len(answer) != len(self._fresh) or not all(r.ok for r in answer):
            return None
        return answer


@contextlib.contextmanager
def _importable_as_at(where: tuple[str, list[str]]) -> Iterator[None]:
    """The working directory and ``sys.path`` of ``where`` while replaying here (the
    sandbox imports the workflow's modules afresh by name), then today's again. Nothing
    changes for a check collected at the test's teardown, where they are the same."""
    cwd, path = where
    if os.getcwd() == cwd and sys.path == path:
        yield
        return
    saved = (os.getcwd(), list(sys.path))
    with contextlib.suppress(OSError):  # a directory removed since: stay where we are
        os.chdir(cwd)
    sys.path[:] = path
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.chdir(saved[0])
        sys.path[:] = saved[1]


def start_teardown_replay(
    histories: Sequence[tuple[str, History]],
    workflows: Sequence[type],
    *,
    config: ReplayConfig | None = None,
) -> TeardownReplay:
    """Start the test's teardown replay: in the helper interpreter when possible, else here.

    Inputs are compared too: the code is the code that wrote these histories. Workers with
    more than the default configuration (plugins, interceptors, a converter or runner of
    their own) are replayed here, with the same objects: another interpreter has none of them.
    """
    return TeardownReplay(histories, workflows, config or ReplayConfig())


def _encode(history: History) -> str:
    return base64.b64encode(HistoryProto(events=history.events).SerializeToString()).decode()


def _decode(workflow_id: str, data: str) -> History:
    events = HistoryProto.FromString(base64.b64decode(data)).events
    return History(WorkflowHistory(workflow_id, list(events)))


# -- the helper's side --------------------------------------------------------------------------------

_BASELINE: set[str] = set()
_IMPORTED: dict[str, tuple[str, int, int] | None] = {}
#: One event loop for every request: ``asyncio.run`` would build a loop and a thread pool
#: for each and join the pool's threads at its end, ~6 ms of a ~16 ms replay (measured).
_LOOP: asyncio.AbstractEventLoop | None = None


def _loop() -> asyncio.AbstractEventLoop:
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    return _LOOP


class ReplaySession:
    """One SDK replayer kept open across requests, for one set of workflow classes.

    Opening and closing a replayer costs ~3 ms of a ~13 ms teardown replay (measured); the
    histories of one test after another go through the same one here. It records the
    commands for the input comparison itself; a session that fails or is interrupted
    mid-history is closed, and the next call opens a new one.
    """

    def __init__(self, workflows: Sequence[type]) -> None:
        self.workflows = list(workflows)
        self._queue: asyncio.Queue[History | None] = asyncio.Queue()
        self._recorder = CommandRecorder(encode_inputs=True)
        self._context: Any = None
        self._results: Any = None

    async def _open(self) -> Any:
        async def feed() -> AsyncIterator[WorkflowHistory]:
            while (history := await self._queue.get()) is not None:
                yield history.raw

        self._context = replayer(self.workflows, ReplayConfig(), self._recorder).workflow_replay_iterator(feed())
        self._results = (await self._context.__aenter__()).__aiter__()
        return self._results

    async def replay(
        self,
        histories: Sequence[History],
        workflows: Sequence[type],
        config: ReplayConfig,
        recorder: CommandRecorder | None,
    ) -> list[tuple[BaseException | None, list[Any]]]:
        """A :data:`~._engine.BatchReplay`: ``workflows`` are among the session's, ``config`` the default."""
        outcomes: list[tuple[BaseException | None, list[Any]]] = []
        try:
            results = self._results or await self._open()
            for history in histories:
                await self._queue.put(history)
                result = await results.__anext__()
                commands = self._recorder.commands.pop(result.history.run_id, [])
                outcomes.append((result.replay_failure, commands if recorder is not None else []))
        except BaseException:
            await self.close()
            raise
        return outcomes

    async def close(self) -> None:
        context, self._context, self._results = self._context, None, None
        self._queue = asyncio.Queue()
        if context is not None:
            with contextlib.suppress(BaseException):
                await context.__aexit__(None, None, None)


#: Sessions by their classes (identity: a changed module is new classes), oldest first.
_SESSIONS: dict[tuple[type, ...], ReplaySession] = {}
MAX_SESSIONS = 4


async def _session(classes: Sequence[type]) -> ReplaySession:
    key = tuple(classes)
    session = _SESSIONS.pop(key, None) or ReplaySession(classes)
    _SESSIONS[key] = session
    while len(_SESSIONS) > MAX_SESSIONS:
        await _SESSIONS.pop(next(iter(_SESSIONS))).close()
    return session


async def _replay_in_session(
    histories: list[tuple[str, History]], classes: list[type], process_dependent: set[str]
) -> list[ReplayResult]:
    session = await _session(classes)
    return await replay_histories(
        histories, classes, compare_inputs=True, process_dependent=process_dependent, batch=session.replay
    )


def _stamp(path: str | None) -> tuple[str, int, int] | None:
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (path, stat.st_mtime_ns, stat.st_size)


def _forget_stale_modules() -> None:
    """Drop modules an earlier request imported that are now another file or changed.

    pytest runs many test directories with same-named modules (``workflows.py`` in each
    pytester directory), one after the other: each request must see its own.
    """
    stale = set()
    for name, stamp in _IMPORTED.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        file = getattr(module, "__file__", None)
        if stamp is None or _stamp(file) != stamp:
            stale.add(name)
        elif "." not in name:
            spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
            if spec is None or spec.origin is None or os.path.realpath(spec.origin) != os.path.realpath(file or ""):
                stale.add(name)
    for name in list(sys.modules):
        if name in stale or any(name.startswith(prefix + ".") for prefix in stale):
            del sys.modules[name]
            _IMPORTED.pop(name, None)
    importlib.invalidate_caches()


def _load(module_name: str, qualname: str, file: str) -> type:
    module = importlib.import_module(module_name)
    found = os.path.realpath(getattr(module, "__file__", "") or "")
    if found != file:
        raise ImportError(f"{module_name} is {found} here, not {file}")
    value: Any = module
    for part in qualname.split("."):
        value = getattr(value, part)
    return value  # type: ignore[no-any-return]


def handle(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer one request: replay its histories against its workflow classes."""
    os.chdir(request["cwd"])
    sys.path[:] = request["sys_path"]
    _forget_stale_modules()
    try:
        classes = [_load(*ref) for ref in request["workflows"]]
    finally:
        for name, module in list(sys.modules.items()):
            if name not in _BASELINE and name not in _IMPORTED:
                _IMPORTED[name] = _stamp(getattr(module, "__file__", None))
    histories = [(label, _decode(workflow_id, data)) for label, workflow_id, data in request["histories"]]
    results = _loop().run_until_complete(
        _replay_in_session(histories, classes, set(request.get("process_dependent", ())))
    )
    return [r.to_dict() for r in results]


def _exit_with_parent() -> None:
    """End this helper as soon as the process that started it is gone.

    A closed stdin ends the loop too, but not while a long replay runs, and a parent killed
    with ``kill -9`` must not leave the helper behind. A daemon thread waits on the parent's
    pidfd (Linux), else polls for being re-parented.
    """
    parent = os.getppid()

    def _wait() -> None:
        try:
            fd = os.pidfd_open(parent)
        except (AttributeError, OSError):
            while os.getppid() == parent:
                time.sleep(0.2)
        else:
            select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=_wait, name="exit-with-parent", daemon=True).start()


def serve() -> None:
    """The helper's main loop: one JSON request per line on stdin, one answer per line."""
    _exit_with_parent()
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # workflow code that prints must not corrupt the protocol
    sys.stdout = sys.stderr
    _BASELINE.update(sys.modules)
    for line in sys.stdin:
        try:
            answer: dict[str, Any] = {"results": handle(json.loads(line))}
        except BaseException as err:  # noqa: BLE001 - the parent falls back, the helper lives on
            answer = {"error": f"{type(err).__name__}: {err}"}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    # Our parent closed the pipe: close the open replayers before the interpreter goes.
    loop = _loop()
    for session in list(_SESSIONS.values()):
        loop.run_until_complete(session.close())
    _SESSIONS.clear()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
