"""``python -m pytest_temporal_agents replay PATHS... --workflows pkg.module:ATTR``, or
``replay --query "WorkflowType='X'" [--address HOST:PORT] ...`` to replay what a cluster runs.

Replays recorded histories (or the histories a visibility query selects on a cluster)
without pytest, for CI steps and for a quick check after a change. Prints one line per
history, then the report of each failure, then a summary; ``-j N`` replays in N processes,
``--junit-xml`` writes one test case per history, ``--save DIR`` keeps what was fetched.

Exit status: 0 every history replays; 1 at least one does not (nondeterminism, the
workflow code raised during replay, or a ``-j`` worker process died); 130 Ctrl-C; 2 bad
input: bad arguments, workflows that cannot be imported, no history files found, a file that cannot be read as a replayable history, or a
cluster that cannot be reached, a wrong namespace, bad TLS material, a query the server
rejects or one that selects nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TextIO, TypeVar

from ._jobs import MOST_JOBS, WorkerPool, cpu_count, run_batches

if TYPE_CHECKING:
    from ..history import History
    from ._engine import ReplayResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
CORE_SETTLE_SECONDS = 0.2
DEFAULT_LIMIT = 100  # as replay/_cluster.py (not imported here: --help must not load temporalio)

DESCRIPTION = "Replay recorded Temporal workflow histories against the current workflow code."
EPILOG = """\
exit status: 0 all replay, 1 a history does not replay, 130 Ctrl-C, 2 bad input (arguments,
unimportable workflows, no history files, unreadable or truncated history files; an
unreachable cluster, wrong namespace or TLS material, a bad query or one selecting nothing)

connection: --address, --namespace and the TLS options lie over Temporal's environment
configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
TEMPORAL_PROFILE / --profile, TEMPORAL_CONFIG_FILE). The API key is read from there only.

parallel: -j N replays in N processes (0 or auto: one per CPU), with the same output,
JUnit report and exit status as -j 1; a process that dies costs only its batch, reported
as ERROR lines. Ctrl-C exits 130 and stops every process.

examples:
  python -m pytest_temporal_agents replay tests/histories --workflows myapp.workflows:ALL
  python -m pytest_temporal_agents replay tests/histories --workflows myapp.workflows:ALL -j auto -q
  python -m pytest_temporal_agents replay --address localhost:7233 --namespace default \\
      --query "WorkflowType='Trade' AND StartTime > '2026-01-01T00:00:00Z'" --limit 500 \\
      --workflows myapp.workflows:ALL -j 4 --junit-xml replay.xml --save fetched/
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_temporal_agents", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="replay history files against workflow classes",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # main's own checks report as the replay command's usage errors, as argparse's do.
    replay.set_defaults(usage_error=replay.error)
    replay.add_argument("paths", nargs="*", metavar="PATH", help="history JSON files, or directories to search")
    replay.add_argument(
        "--workflows",
        action="append",
        required=True,
        metavar="pkg.module:ATTR",
        help="workflow class, or list/tuple of them, to replay against (repeatable)",
    )
    replay.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    replay.add_argument(
        "-j", "--jobs", type=_jobs, default=1, metavar="N",
        help=f"replay in N processes (default 1; 0 or auto: one per CPU, here {cpu_count()}; at most {MOST_JOBS})",
    )  # fmt: skip
    replay.add_argument("--junit-xml", type=_report_file, metavar="PATH", help="write a JUnit XML report: one test case per history")
    cluster = replay.add_argument_group("replay from a cluster (instead of PATHs)")
    cluster.add_argument("--query", type=_query, help="visibility query selecting the workflows whose histories to replay")
    cluster.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT, metavar="N", help="at most N histories (default %(default)s)")
    cluster.add_argument("--save", type=_save_dir, metavar="DIR", help="also write the fetched histories into DIR as JSON")
    cluster.add_argument("--address", metavar="HOST:PORT", help="the cluster (default: TEMPORAL_ADDRESS or the profile's)")
    cluster.add_argument("--namespace", help="the namespace (default: TEMPORAL_NAMESPACE, the profile's, or 'default')")
    cluster.add_argument("--profile", help="environment configuration profile (default: TEMPORAL_PROFILE or 'default')")
    cluster.add_argument("--tls", action="store_true", help="use TLS (implied by the other TLS options or an API key)")
    cluster.add_argument("--tls-cert", metavar="PATH", help="client certificate (PEM) for mTLS")
    cluster.add_argument("--tls-key", metavar="PATH", help="client private key (PEM) for mTLS")
    cluster.add_argument("--tls-ca", metavar="PATH", help="server root CA certificate (PEM)")
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return int(value)


BAD_JOBS = "{value!r} is not a number of processes; give 1 to {most}, or 0 or auto for one per CPU"


def _jobs(value: str) -> int:
    """A number of processes: 1 to MOST_JOBS, or ``0`` / ``auto`` for one per CPU."""
    text = value.strip().lower()
    if text == "auto" or (text.isdigit() and int(text) == 0):
        return min(cpu_count(), MOST_JOBS)
    if not text.isdigit():
        raise argparse.ArgumentTypeError(BAD_JOBS.format(value=value, most=MOST_JOBS))
    jobs = int(text)
    if jobs > MOST_JOBS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is more than {MOST_JOBS} processes; give 1 to {MOST_JOBS}, or 0 or auto for one per CPU"
        )
    return jobs


def _report_file(value: str) -> str:
    """A file to write (missing directories are made): not empty, no directory, not under a file."""
    path = Path(value)
    if not value.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is empty; give a file to write, such as replay.xml")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a directory; give a file in it, such as {path / 'replay.xml'}")
    _not_under_a_file(value, path.parents)
    return value


def _save_dir(value: str) -> str:
    """A directory to write into (made if missing): not empty, not a file, not under a file."""
    path = Path(value)
    if not value.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is empty; give a directory, such as fetched/")
    _not_under_a_file(value, [path, *path.parents])
    return value


def _not_under_a_file(value: str, directories: Sequence[Path]) -> None:
    blocked = next((d for d in directories if d.exists() and not d.is_dir()), None)
    if blocked == Path(value):
        raise argparse.ArgumentTypeError(f"{value!r} is a file; give a directory")
    if blocked is not None:
        raise argparse.ArgumentTypeError(f"{value!r} needs {str(blocked)!r} to be a directory, but it is a file")


def _query(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError(
            f"{value!r} is empty; give a visibility query, for example \"WorkflowType='Trade'\""
        )
    return value


class _Progress:
    """Progress on a terminal only, as a rich bar on stderr; CI logs and pipes get the result
    lines and no control codes. Called as ``progress(what, done, total)``."""

    TITLES: ClassVar[dict[str, str]] = {"fetched": "fetching histories", "replayed": "replaying histories"}

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._what = ""

    def __call__(self, what: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None or what != self._what:
            self._close()
            from rich.console import Console
            from rich.progress import Progress

            self._what = what
            self._bar = Progress(console=Console(file=sys.stderr), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.TITLES.get(what, what), total=total)
        self._bar.update(self._task, completed=done)
        if done >= total:
            self._close()

    def stop(self) -> None:
        """Take the bar off the terminal (on Ctrl-C)."""
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


_print_progress = _Progress()


def _report(results: Sequence[ReplayResult], *, quiet: bool, junit_xml: str | None, out: TextIO) -> int:
    """Print the results, write the JUnit report, and return the exit status."""
    from ._cluster import write_junit
    from ._engine import INVALID, OK

    for result in results:
        if not (quiet and result.ok):
            print(result.line(), file=out)
    for result in results:
        if not result.ok and result.status != INVALID:
            print(f"\n=== {result.source} ===\n{result.report}", file=out)
    counts = Counter(result.status for result in results)
    breakdown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: kv[0] != OK))
    print(f"\n{len(results)} histories: {breakdown}", file=out)
    if junit_xml:
        print(f"JUnit XML: {write_junit(results, junit_xml)}", file=out)
    if counts[INVALID]:
        return EXIT_BAD_INPUT
    return EXIT_OK if counts[OK] == len(results) else EXIT_FAILED


def replay_command(
    paths: Sequence[str],
    specs: Sequence[str],
    *,
    quiet: bool = False,
    out: TextIO = sys.stdout,
    jobs: int = 1,
    junit_xml: str | None = None,
) -> int:
    """Run the replay command on history files; return the exit status."""
    _importable_here()  # before the workers start: they get this sys.path
    if jobs > 1:
        # The workers start first: they import temporalio and the workflows while this
        # process does the same to check the arguments.
        with WorkerPool(jobs, "pytest_temporal_agents.replay._engine:replay_file_batch") as pool:
            return _replay_files(paths, specs, quiet=quiet, out=out, pool=pool, junit_xml=junit_xml)
    return _replay_files(paths, specs, quiet=quiet, out=out, pool=None, junit_xml=junit_xml)


def _replay_files(
    paths: Sequence[str],
    specs: Sequence[str],
    *,
    quiet: bool,
    out: TextIO,
    pool: WorkerPool | None,
    junit_xml: str | None,
) -> int:
    from .._errors import TemporalConfigError
    from ..history import HistoryFileError, find_history_files
    from ._cluster import worker_failed
    from ._engine import ReplayResult, load_workflow_specs, replay_history_files
    from ._jobs import batches

    try:
        workflows = load_workflow_specs(" ".join(specs))
        files = find_history_files(paths)
    except (TemporalConfigError, HistoryFileError) as err:
        print(f"error: {err}", file=out)
        return EXIT_BAD_INPUT
    if not files:
        print(f"error: no history files (*.json) under {', '.join(paths)}", file=out)
        return EXIT_BAD_INPUT
    results: list[ReplayResult] = []
    if pool is None:

        async def replay_here() -> None:
            for batch in batches(len(files), 1):
                results.extend(await replay_history_files([files[i] for i in batch], workflows))
                _print_progress("replayed", len(results), len(files))

        run_interruptible(replay_here)
    else:
        names = [str(path) for path in files]
        spec = " ".join(specs)
        for batch, outcome in run_batches(pool, len(files), lambda b: (spec, names[b.start : b.stop]), _print_progress):
            if outcome.problem:
                results += [worker_failed(names[i], None, outcome.problem, len(batch)) for i in batch]
            else:
                results += [ReplayResult.from_dict(d) for d in outcome.value]
    return _report(results, quiet=quiet, junit_xml=junit_xml, out=out)


def cluster_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Fetch the histories ``--query`` selects from the cluster, replay them; the exit status."""
    from .._errors import TemporalConfigError
    from ..servers import EXTERNAL, ServerConfig, connect, quiet_runtime, resolve_connection
    from ._cluster import (
        fetch_histories,
        replay_histories_in_processes,
        replay_in_processes,
        save_histories,
    )
    from ._engine import load_workflow_specs

    _importable_here()
    specs = " ".join(args.workflows)
    config = ServerConfig(
        env=args.address or EXTERNAL,
        namespace=args.namespace or "default",
        namespace_given=args.namespace is not None,
        namespace_source="--namespace",
        profile=args.profile,
        tls=args.tls,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_ca=args.tls_ca,
    )

    async def fetch() -> list[tuple[str, History]]:
        try:
            connection = resolve_connection(config, flag_prefix="--", address_flag="--address")
            client = await connect(connection, quiet_runtime())
            print(f"fetching from {connection.describe()}: {args.query}", file=out)
            return await fetch_histories(client, args.query, limit=args.limit, progress=_print_progress)
        finally:
            # temporalio 1.35's core finishes a failed or closed connection on its own
            # threads: an interpreter that exits at once aborts (see servers/_pool.py).
            await asyncio.sleep(CORE_SETTLE_SECONDS)

    try:
        load_workflow_specs(specs)
        histories = run_interruptible(fetch)
    except TemporalConfigError as err:
        print(f"error: {err}", file=out)
        return EXIT_BAD_INPUT
    if args.save:
        saved = save_histories(histories, args.save)
        print(f"saved {len(saved)} histories under {args.save}", file=out)
    if args.jobs > 1:
        results = replay_histories_in_processes(histories, specs, jobs=args.jobs, progress=_print_progress)
    else:
        results = run_interruptible(lambda: replay_in_processes(histories, specs, jobs=1, progress=_print_progress))
    return _report(results, quiet=args.quiet, junit_xml=args.junit_xml, out=out)


T = TypeVar("T")


def run_interruptible(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(factory())``, with a Ctrl-C at any moment leaving nothing to complain.

    A Ctrl-C that came while ``asyncio.run`` built its event loop left a loop without its
    ``_thread_id``, whose ``__del__`` printed a traceback at exit, and the coroutine never
    awaited printed a warning: both after "interrupted: no result (Ctrl-C)". The loop is now
    built with the Ctrl-C held until it is whole, and a coroutine that never ran is closed.
    """
    coroutine = factory()
    try:
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=_whole_loop) as runner:
                return runner.run(coroutine)
        return asyncio.run(coroutine)
    except BaseException:
        coroutine.close()  # not started: no "never awaited" warning; finished: nothing to do
        raise


def _whole_loop() -> asyncio.AbstractEventLoop:
    """A new event loop; a Ctrl-C while it is built is raised once it is built (and closed)."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        return asyncio.new_event_loop()
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        loop = asyncio.new_event_loop()
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        loop.close()
        raise KeyboardInterrupt
    return loop


def quiet_sdk_logs() -> None:
    """Keep the SDK's own log of a failed replay activation (a traceback on stderr) out of
    the output: the report says what failed and where. A logging setup of the caller's own
    still receives the records."""
    logging.getLogger("temporalio").addHandler(logging.NullHandler())


def _importable_here() -> None:
    # `python -m` puts the working directory on sys.path; a console script would not.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; the exit status (130 after Ctrl-C, with every worker process gone)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _print_progress.stop()
        print("interrupted: no result (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    quiet_sdk_logs()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.query is not None and args.paths:
        args.usage_error("give history PATHs or --query, not both")
    if args.query is None and not args.paths:
        args.usage_error("give history PATHs to replay, or --query to fetch them from a cluster")
    if args.query is None and (args.save or args.address or args.profile):
        args.usage_error("--save, --address and --profile go with --query")
    if args.query is not None:
        return cluster_command(args)
    return replay_command(args.paths, args.workflows, quiet=args.quiet, jobs=args.jobs, junit_xml=args.junit_xml)
