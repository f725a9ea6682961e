"""The project's own suite, timed as README runs it, and what two xdist workers buy.

Runs, from the checkout's root, each a whole ``python -m pytest`` process:

- README's first step, ``-n 2 -m "not chaos"``, and the same with ``-n 0`` (one process), in
  turn, ROUNDS times: their wall times and the ratio (issue 14 asks ``-n 2`` to be at least
  1.6x faster than ``-n 0``);
- README's second step, ``-m chaos``, once (``--no-chaos`` leaves it out): the suite's total is
  both steps (issue 14 asks at most 60 s on 2 cores);
- the slowest tests of the ``-n 2`` run (pytest's ``--durations``).

A step that fails is reported with its exit status, and its time is not used.

Usage: python benchmarks/suite.py [ROUNDS] [--no-chaos]   (default ROUNDS=1; ~12 min a round)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["-m", "not chaos", "-p", "no:cacheprovider", "-q"]
SLOWEST = 15


def _run(args: list[str]) -> tuple[float, str, int]:
    """Run ``python -m pytest ARGS`` at the root: (seconds, output, exit status)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    return time.perf_counter() - start, done.stdout + done.stderr, done.returncode


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1].strip("= ") if lines else "(no summary line)"


def _print_failures(output: str) -> None:
    """The run's FAILED and ERROR lines, or its last lines when it has none."""
    lines = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    for line in lines or output.splitlines()[-20:]:
        print(f"    {line}")


def main(rounds: int, chaos: bool) -> int:
    times: dict[str, list[float]] = {"-n 2": [], "-n 0": []}
    slowest = ""
    failed = False
    for round_ in range(rounds):
        for name, args in (
            ("-n 2", ["-n", "2", *COMMON, f"--durations={SLOWEST}"]),
            ("-n 0", ["-n", "0", *COMMON]),
        ):
            seconds, output, status = _run(args)
            print(f"round {round_ + 1}, {name}: {seconds:6.1f} s, {_summary(output)}", flush=True)
            if status != 0:
                failed = True
                print(f"  pytest {' '.join(args)} exited {status}; its time is not used")
                _print_failures(output)
                continue
            times[name].append(seconds)
            if name == "-n 2":
                after = output.split(" durations =", 1)[-1] if " durations =" in output else ""
                lines = re.findall(r"^\d+\.\d+s +(?:setup|call|teardown) +.+$", after, re.MULTILINE)
                slowest = "\n".join(lines[:SLOWEST])
    chaos_seconds = None
    if chaos:
        chaos_seconds, output, status = _run(["-m", "chaos", "-p", "no:cacheprovider", "-q"])
        print(f"chaos step: {chaos_seconds:6.1f} s, {_summary(output)}", flush=True)
        if status != 0:
            failed = True
            print(f"  pytest -m chaos exited {status}")
            _print_failures(output)
            chaos_seconds = None
    print()
    if slowest:
        print(f"slowest tests of the -n 2 run:\n{slowest}\n")
    if times["-n 2"]:
        two = statistics.median(times["-n 2"])
        print(f"README step 1 (-n 2 -m 'not chaos') : {two:7.1f} s")
        if times["-n 0"]:
            one = statistics.median(times["-n 0"])
            print(f"the same with -n 0                  : {one:7.1f} s")
            print(f"-n 2 against -n 0                   : {one / two:.2f}x faster (target 1.6x)")
        if chaos_seconds is not None:
            total = two + chaos_seconds
            print(f"README step 2 (-m chaos)            : {chaos_seconds:7.1f} s")
            print(
                f"the suite, both steps               : {total:7.1f} s ({total / 60:.2f}x the 60 s target)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    positional = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    sys.exit(main(int(positional[0]) if positional else 1, "--no-chaos" not in sys.argv))
