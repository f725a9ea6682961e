"""What one pytest process costs to start, with and without Python's bytecode cache.

The suite's slow tests are mostly processes: nested pytest runs (pytester subprocesses), CLI
subprocesses, xdist workers. Each pytest process imports its plugins, and pytest rewrites the
asserts of every module of a plugin's distribution (all of faker, hypothesis, anyio...), ~200
modules here. Rewritten modules are cached as ``.pyc`` files, unless Python may not write
bytecode (``PYTHONDONTWRITEBYTECODE=1``, as on the machine these figures come from): then
every pytest process compiles them all again.

This script runs one small nested pytest session (a test that runs a workflow on the
time-skipping server, as the suite's nested runs do) both ways, alternating, and prints the
medians side by side::

    python benchmarks/nested_pytest.py [ROUNDS]

"no bytecode cache" is the environment as given with ``PYTHONDONTWRITEBYTECODE=1``;
"bytecode cache" unsets it and points ``PYTHONPYCACHEPREFIX`` at a temporary directory
(warmed by one run first), so nothing is written beside the installed packages.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
addopts = -p no:randomly
"""
TEST = """\
from workflows import Greeting, GreetingWorkflow, compose_greeting


async def test_greets(temporal):
    greeting = await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting])
    assert greeting == "Hello, Ada!"
"""


def _environments(cache: Path) -> dict[str, dict[str, str]]:
    base = {**os.environ, "PYTHONPATH": str(ROOT)}
    base.pop("PYTHONPYCACHEPREFIX", None)
    without = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    with_cache = {**base, "PYTHONPYCACHEPREFIX": str(cache)}
    with_cache.pop("PYTHONDONTWRITEBYTECODE", None)
    return {"no bytecode cache": without, "bytecode cache": with_cache}


def _run(directory: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_greets.py"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the nested run failed:\n{done.stdout}\n{done.stderr}")
    return took


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="nested-pytest-") as scratch:
        directory = Path(scratch) / "project"
        directory.mkdir()
        (directory / "pytest.ini").write_text(INI)
        (directory / "workflows.py").write_text(
            (ROOT / "tests" / "support" / "sample_workflows.py").read_text()
        )
        (directory / "test_greets.py").write_text(TEST)
        environments = _environments(Path(scratch) / "pycache")
        _run(directory, environments["bytecode cache"])  # warm the cache once
        timings: dict[str, list[float]] = {name: [] for name in environments}
        for _ in range(rounds):  # alternate, so that the machine's load hits both sides alike
            for name, env in environments.items():
                timings[name].append(_run(directory, env))
    base = statistics.median(timings["no bytecode cache"]) * 1000
    print(f"one nested pytest run (a workflow test), median of {rounds}, alternating:")
    for name, values in timings.items():
        ms = statistics.median(values) * 1000
        print(f"  {name:<20}: {ms:8.1f} ms ({ms / base:.2f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
