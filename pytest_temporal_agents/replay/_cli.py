"""``python -m pytest_temporal_agents replay PATHS... --workflows pkg.module:ATTR``.

Replays recorded histories without pytest, for CI steps and for a quick check after a change.
Prints one line per history, then the report of each failure, then a summary.

Exit status: 0 every history replays; 1 at least one does not (nondeterminism, or the
workflow code raised during replay); 2 bad input: bad arguments, workflows that cannot be
imported, no history files found, or a file that cannot be read as a replayable history.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DESCRIPTION = "Replay recorded Temporal workflow histories against the current workflow code."
EPILOG = """\
exit status: 0 all replay, 1 a history does not replay, 2 bad input (arguments,
unimportable workflows, no history files, unreadable or truncated history files)

example:
  python -m pytest_temporal_agents replay tests/histories --workflows myapp.workflows:ALL
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
    replay.add_argument("paths", nargs="+", metavar="PATH", help="history JSON files, or directories to search")
    replay.add_argument(
        "--workflows",
        action="append",
        required=True,
        metavar="pkg.module:ATTR",
        help="workflow class, or list/tuple of them, to replay against (repeatable)",
    )
    replay.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    return parser


def replay_command(paths: Sequence[str], specs: Sequence[str], *, quiet: bool = False, out: TextIO = sys.stdout) -> int:
    """Run the replay command; return the exit status."""
    from .._errors import TemporalConfigError
    from ..history import HistoryFileError, find_history_files
    from ._engine import INVALID, OK, load_workflow_specs, replay_files

    # `python -m` puts the working directory on sys.path; a console script would not.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        workflows = load_workflow_specs(" ".join(specs))
        files = find_history_files(paths)
    except (TemporalConfigError, HistoryFileError) as err:
        print(f"error: {err}", file=out)
        return EXIT_BAD_INPUT
    if not files:
        print(f"error: no history files (*.json) under {', '.join(paths)}", file=out)
        return EXIT_BAD_INPUT
    results = asyncio.run(_replay_with_progress(files, workflows, replay_files, out))
    for result in results:
        if not (quiet and result.ok):
            print(result.line(), file=out)
    for result in results:
        if not result.ok and result.status != INVALID:
            print(f"\n=== {result.source} ===\n{result.report}", file=out)
    counts = Counter(result.status for result in results)
    breakdown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: kv[0] != OK))
    print(f"\n{len(results)} histories: {breakdown}", file=out)
    if counts[INVALID]:
        return EXIT_BAD_INPUT
    return EXIT_OK if counts[OK] == len(results) else EXIT_FAILED


PROGRESS_CHUNK = 20
"""Histories replayed per step of the progress bar: one replayer serves a chunk."""


async def _replay_with_progress(files: Sequence[Any], workflows: Sequence[type], replay: Any, out: TextIO) -> list[Any]:
    """``replay(files, workflows)``, in chunks under a rich progress bar when ``out`` is a
    terminal; in one call, with no bar and no control codes, when it is not (CI, a pipe)."""
    if not (out.isatty() and len(files) > PROGRESS_CHUNK):
        return list(await replay(files, workflows))
    from rich.console import Console
    from rich.progress import Progress

    results: list[Any] = []
    with Progress(console=Console(file=out), transient=True) as bar:
        task = bar.add_task("replaying histories", total=len(files))
        for start in range(0, len(files), PROGRESS_CHUNK):
            chunk = files[start : start + PROGRESS_CHUNK]
            results.extend(await replay(chunk, workflows))
            bar.advance(task, len(chunk))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return replay_command(args.paths, args.workflows, quiet=args.quiet)

