"""Keep pytest's assertion rewriting off this distribution's packages.

pytest rewrites the asserts of every package in a plugin's distribution (ours has a pytest11
entry point), and a rewritten module is parsed and compiled from source by pytest's import
hook instead of loading the bytecode pip compiled. With a bytecode cache that costs little;
without one (``PYTHONDONTWRITEBYTECODE=1``, common in CI images) every import pays it again:

- the plugin's own modules taxed every pytest run in the environment, Temporal test or not
  (``plugin.py`` alone about 10 ms, a few percent of a one-test run;
  benchmarks/unused_install.py);
- the sandbox re-imports a workflow's module for every run (and, with the workflow cache
  off, as crash faults need, for every workflow task): about 22 ms for
  ``reference_workflows.workflows.trading`` instead of 7 ms for a plain compile, a quarter of
  the fault property tests' time.

Neither package has test asserts to report, only invariants. pytest has no public way to
unmark a package, so this uses its import hook's ``_must_rewrite`` set when it is there and
does nothing otherwise. The package's ``__init__`` calls it as pytest imports it to load the
plugin (the hook is installed and has marked us by then), so no module after ``__init__``
itself is rewritten; ``pytest_addoption`` calls it again for runs whose hook was installed
after the package was imported (pytester's nested runs). This module imports nothing:
Temporal's sandbox re-imports the package, and with it this, for every workflow run.
"""

from __future__ import annotations

import sys
from typing import Any

#: This distribution's packages, which pytest marks for assertion rewriting.
UNREWRITTEN_PACKAGES = ("pytest_temporal_agents", "reference_workflows")


def exempt_from_assertion_rewriting(rewrite_hook: Any, packages: tuple[str, ...] = UNREWRITTEN_PACKAGES) -> bool:
    """Unmark ``packages`` in ``rewrite_hook`` (pytest's import hook); return whether it could."""
    marked = getattr(rewrite_hook, "_must_rewrite", None)
    if not isinstance(marked, set):
        return False
    marked.difference_update(packages)
    return True


def exempt_in_installed_hooks() -> int:
    """Unmark this distribution in every pytest import hook on ``sys.meta_path``; return how many."""
    return sum(exempt_from_assertion_rewriting(finder) for finder in sys.meta_path if hasattr(finder, "_must_rewrite"))
