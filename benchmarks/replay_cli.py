"""Replay at CI scale: ``python -m pytest_temporal_agents replay`` against the SDK's ``Replayer``,
each timed as a whole process, over the same 1,000 history files.

Records N histories with benchmarks/replay.py's ``record`` (every one a real run on the
time-skipping server, with its own workflow id: a mix of a 17-event and a 25-40-event
workflow with a child), then times, alternating in each round so that machine noise hits
all sides alike:

- ``sdk``: a fresh ``python -c`` process that reads each file with
  ``WorkflowHistory.from_json`` and replays all of them with one ``Replayer`` (its default
  sandbox, as the SDK documents it);
- ``cli -j 1``: ``python -m pytest_temporal_agents replay DIR --workflows ... -q -j 1``;
- ``cli -j 2``: the same with ``-j 2``.

Usage: python benchmarks/replay_cli.py [N] [ROUNDS] [--dir DIR]
(default N=1000, ROUNDS=5; ``--dir`` keeps the recorded histories there, and reuses them on
the next run when it holds N files already).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUPPORT = ROOT / "tests" / "support"
sys.path[:0] = [str(HERE), str(SUPPORT)]

SDK_REPLAY = """\
import asyncio, json, sys
from pathlib import Path
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from replay_workflows import WORKFLOWS

async def main():
    histories = []
    for file in sorted(Path(sys.argv[1]).glob("*.json")):
        data = json.loads(file.read_text())
        histories.append(WorkflowHistory.from_json(data["workflowId"], data))

    async def feed():
        for history in histories:
            yield history

    results = await Replayer(workflows=WORKFLOWS).replay_workflows(feed(), raise_on_replay_failure=False)
    assert not results.replay_failures, results.replay_failures
    print(len(histories))

asyncio.run(main())
"""


def environment() -> dict[str, str]:
    # This checkout first (not an installed copy), then the workflows' modules.
    paths = [str(ROOT), str(HERE), str(SUPPORT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _cpu() -> float:
    # Children's user + system time: the process and every worker it reaped.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], expect: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``command`` as a whole process."""
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment(), check=False)
    elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    if done.returncode != 0 or expect not in done.stdout:
        sys.exit(f"{command} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, cpu


def record_into(directory: Path, count: int) -> None:
    if len(list(directory.glob("*.json"))) == count:
        print(f"reusing the {count} histories in {directory}")
        return
    from replay import record  # benchmarks/replay.py

    for stale in directory.glob("*.json"):
        stale.unlink()
    started = time.perf_counter()
    asyncio.run(record(directory, count))
    print(f"recorded {count} histories in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("rounds", nargs="?", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the recorded histories here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        record_into(directory, args.count)
        cli = [sys.executable, "-m", "pytest_temporal_agents", "replay", str(directory)]
        cli += ["--workflows", "replay_workflows:WORKFLOWS", "-q"]
        sides = {
            "sdk": ([sys.executable, "-c", SDK_REPLAY, str(directory)], str(args.count)),
            "cli -j 1": ([*cli, "-j", "1"], f"{args.count} histories: {args.count} ok"),
            "cli -j 2": ([*cli, "-j", "2"], f"{args.count} histories: {args.count} ok"),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        cpus: dict[str, list[float]] = {name: [] for name in sides}
        for name, (command, expect) in sides.items():  # warm-up: the OS's file and import caches
            timed(command, expect)
        for round_ in range(args.rounds):
            # Alternate the order too, so that no side always runs after the same one.
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for name in order:
                elapsed, cpu = timed(*sides[name])
                times[name].append(elapsed)
                cpus[name].append(cpu)
        median = {name: statistics.median(values) for name, values in times.items()}
        rate = {name: args.count / median[name] for name in sides}
        load = os.getloadavg()[0]
        print(f"{args.count} histories, {args.rounds} rounds, medians (load average {load:.1f}, {os.cpu_count()} CPUs):")
        for name in sides:
            rounds_text = ", ".join(f"{t:.2f}" for t in times[name])
            ratio = {
                "sdk": "",
                "cli -j 1": f"  ({rate['cli -j 1'] / rate['sdk']:.2f}x of the SDK)",
                "cli -j 2": f"  ({median['cli -j 1'] / median['cli -j 2']:.2f}x of -j 1)",
            }[name]
            print(f"{name:<9} {median[name] * 1000:9.1f} ms  {rate[name]:7.1f} histories/s{ratio}  (rounds, s: {rounds_text})")
        # CPU time does not depend on what else the machine runs: the cost per history.
        cpu = {name: statistics.median(values) for name, values in cpus.items()}
        print(
            f"cpu (user+sys, median): sdk {cpu['sdk']:.2f} s, cli -j 1 {cpu['cli -j 1']:.2f} s "
            f"({cpu['sdk'] / cpu['cli -j 1']:.2f}x of the SDK's rate), cli -j 2 {cpu['cli -j 2']:.2f} s "
            f"(all processes; {cpu['cli -j 2'] / cpu['cli -j 1']:.2f}x the CPU of -j 1)"
        )


if __name__ == "__main__":
    main()
