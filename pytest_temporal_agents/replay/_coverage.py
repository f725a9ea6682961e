"""Keep coverage measurement out of the replay helper interpreter.

Workflow code that runs in Temporal's sandbox is measured by coverage.py as it is: the
sandbox re-imports a workflow's module through the ordinary import system (so its code
objects carry the real file name) and runs it in worker threads that coverage traces
(``docs/how-to/coverage.md`` has the evidence). The one thing of ours that needs care is
the helper interpreter that replays each test's workflows at teardown
(:mod:`._process`): it inherits our environment, and coverage.py measures a child Python
process when the environment asks it to (``[run] patch = subprocess`` sets
``COVERAGE_PROCESS_CONFIG``; ``COVERAGE_PROCESS_START`` with ``coverage.process_startup()``;
pytest-cov before 7 used ``COV_CORE_*``). Measured there, the helper

- counts nothing new: a replay runs exactly the code path that the test's own run already
  ran and coverage already counted (a replay that takes another path is a nondeterminism
  failure of that test);
- starts about twice as slowly (coverage's start-up on top of the imports);
- writes its data file when it exits, which is after pytest-cov has combined and reported:
  a stray ``.coverage.<host>.<pid>.*`` file that the next ``coverage combine`` folds in.

So the helper runs unmeasured. A replay that falls back to this process (workflows a fresh
interpreter cannot import, custom converters or plugins) is traced like any code here; it
adds the same lines the run added.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Environment variables that make a new Python process start measuring coverage:
#: coverage.py's own (``[run] patch = subprocess``, ``process_startup()``) and those of the
#: ``.pth`` file that pytest-cov before 7.0 installed.
COVERAGE_START_VARIABLES = frozenset(
    {
        "COVERAGE_PROCESS_CONFIG",
        "COVERAGE_PROCESS_START",
        "COV_CORE_SOURCE",
        "COV_CORE_CONFIG",
        "COV_CORE_DATAFILE",
        "COV_CORE_BRANCH",
        "COV_CORE_CONTEXT",
    }
)


def unmeasured_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` in which a child Python process does not start coverage."""
    return {name: value for name, value in environ.items() if name not in COVERAGE_START_VARIABLES}
