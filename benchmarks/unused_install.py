"""What an installed but unused pytest-temporal-agents costs a pytest run (issue 14, point 1).

Builds a virtual environment with the package installed as a user installs it, without
extras (``pip install <repo>``: temporalio, the server binaries, pytest, pytest-asyncio,
freezegun, rich; no hypothesis, no faker), writes a project with one plain test, and times
whole ``python -m pytest -q -p no:cacheprovider`` runs in it two ways, alternating (which
side goes first alternates too) so that machine noise hits both alike:

- ``without``: ``-p no:temporal_agents -p no:faker -p no:hypothesispytest``, as if the
  package (and the plugins of the libraries it used to bring) were not installed;
- ``installed``: the same run with our plugin loaded and unused.

It prints the medians and their ratio (target: at most 1.10x), then the same two figures in
the environment running this script (the dev install, where the ``[property]`` and ``[fakes]``
extras bring hypothesis's and faker's plugins), for information.

Usage: python benchmarks/unused_install.py [--runs N] [--venv PATH]

``--venv PATH`` keeps the environment at PATH and reuses it on the next call (the package
is then reinstalled without its dependencies, so the figures are the checkout's code). A new
environment takes about a minute to install (PyPI, pip's cache).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DISABLED = ("-p", "no:temporal_agents", "-p", "no:faker", "-p", "no:hypothesispytest")
RUN = ("-m", "pytest", "-q", "-p", "no:cacheprovider")
TEST = "def test_plain():\n    assert 1 + 1 == 2\n"
SKIPPED = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.whl")
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def prepare_venv(path: Path, scratch: Path) -> Path:
    """A venv at ``path`` with the checkout installed without extras (made if missing)."""
    python = venv_python(path)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Built from a copy: a build leaves build/ and *.egg-info behind in the source tree.
    source = scratch / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*SKIPPED))
    if python.exists():
        print(f"reusing {path}: reinstalling the checkout (no dependencies)", flush=True)
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(source)], check=True)
    else:
        print(f"creating {path} and installing the checkout without extras ...", flush=True)
        venv.create(path, with_pip=True)
        subprocess.run([*pip, str(source)], check=True)
    missing = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print([m for m in ('hypothesis', 'faker') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if missing != "[]":
        sys.exit(f"{path} has {missing} installed: not an install without extras; use a new --venv")
    return python


def timed(python: str, args: Sequence[str], project: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([python, *RUN, *args], cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "1 passed" not in done.stdout:
        sys.exit(f"the one-test run failed ({python} {' '.join(args)}):\n{done.stdout}{done.stderr}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def compare(label: str, python: str, project: Path, env: dict[str, str], runs: int) -> None:
    timed(python, (), project, env)  # warm the file cache (both sides read the same files)
    timed(python, DISABLED, project, env)
    without: list[tuple[float, float]] = []
    installed: list[tuple[float, float]] = []
    for i in range(runs):
        sides = [(without, DISABLED), (installed, ())]
        for times, args in sides if i % 2 else reversed(sides):
            times.append(timed(python, args, project, env))
    off_ms, off_cpu = (statistics.median(t[k] for t in without) * 1000 for k in (0, 1))
    on_ms, on_cpu = (statistics.median(t[k] for t in installed) * 1000 for k in (0, 1))
    # CPU time is the steadier figure on a loaded machine; wall time is what users wait.
    print(f"{label}, median of {runs} alternating runs each (wall; CPU):")
    print(f"  without (-p no:temporal_agents -p no:faker -p no:hypothesispytest) : {off_ms:7.1f} ms; cpu {off_cpu:6.1f} ms")
    print(f"  installed, unused                                                  : {on_ms:7.1f} ms  ({on_ms / off_ms:.2f}x); cpu {on_cpu:6.1f} ms ({on_cpu / off_cpu:.2f}x)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each side (default 20)")
    parser.add_argument("--venv", type=Path, help="keep the environment here and reuse it")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pta-unused-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        (project / "test_plain.py").write_text(TEST)
        (project / "pytest.ini").write_text(INI)
        python = prepare_venv(options.venv or Path(scratch) / "venv", Path(scratch))
        # Nothing of the checkout or of this environment on the path: the venv's own install.
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"load average at start: {load:.2f} on {os.cpu_count()} cores")
        compare("one-test pytest run, package installed without extras", str(python), project, clean, options.runs)
        compare("for information: this environment (dev install, extras included)", sys.executable, project, dict(os.environ), options.runs)


if __name__ == "__main__":
    main()
