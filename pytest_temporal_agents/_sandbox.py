"""The workflow sandbox the harness's workers use: Temporal's default, test tooling passed through.

The sandbox re-imports a workflow's module for every run. A test module that defines a
workflow also imports pytest, this plugin, hypothesis...; re-importing those inside the
sandbox is slow and can trip its restrictions (this plugin's modules resolve paths at import
time). They are never workflow code, so they pass through; the workflow code itself keeps
every default restriction.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import temporalio.workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

TEST_TOOLING = (
    "pytest", "_pytest", "pluggy", "iniconfig", "pytest_asyncio", "pytest_temporal_agents",
    "hypothesis", "faker", "freezegun", "xdist",
)  # fmt: skip


#: The restrictions of every runner the harness builds: the default ones, tooling passed through.
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*TEST_TOOLING)

#: Workflow classes this process has already validated in the sandbox.
_validated: weakref.WeakSet[type] = weakref.WeakSet()


@dataclass(frozen=True)
class ValidateOnceRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner that validates each workflow class once per process.

    Workers and replayers validate every workflow they register by running it up in a
    fresh sandbox, which re-imports its module (10-35 ms a class). The harness builds a
    worker per test, per hypothesis example in ``temporal.isolated()`` and a replayer per
    teardown check, so the same module was validated hundreds of times: about a sixth of
    the fault properties' time. A class that passed once passes again (its module cannot
    change in this process), so later ones skip it; one that failed is validated, and
    fails, every time. The workflow runs themselves stay fully sandboxed.
    """

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        if defn.cls in _validated:
            return
        super().prepare_workflow(defn)
        _validated.add(defn.cls)


def sandboxed_runner() -> SandboxedWorkflowRunner:
    """Temporal's default sandboxed runner with the test tooling passed through."""
    return ValidateOnceRunner(restrictions=RESTRICTIONS)


#: Packages of this distribution that hold workflow code, not test code.
WORKFLOW_PACKAGES = ("reference_workflows",)


def exempt_from_assertion_rewriting(rewrite_hook: Any, packages: tuple[str, ...] = WORKFLOW_PACKAGES) -> bool:
    """Keep pytest's assertion rewriting off this distribution's workflow packages.

    pytest rewrites the asserts of every package in a plugin's distribution, and this
    distribution ships the reference workflows. The sandbox re-imports a workflow's module
    for every run (and, with the workflow cache off, as crash faults need, for every
    workflow task); with no bytecode cache (``PYTHONDONTWRITEBYTECODE=1``, common in CI
    images) each of those imports re-parsed and rewrote the module: about 22 ms for
    ``reference_workflows.workflows.trading`` instead of 7 ms for a plain compile, and a
    quarter of the fault property tests' time. Workflow code has no test asserts to report.

    pytest has no public way to unmark a package, so this uses the hook's ``_must_rewrite``
    set when it is there and does nothing otherwise. Returns whether it could. (The
    package's docstring says ``PYTEST_DONT_REWRITE``, which keeps a nested pytest run, as
    pytester's, from warning that the package was imported before it could be rewritten.)
    """
    marked = getattr(rewrite_hook, "_must_rewrite", None)
    if not isinstance(marked, set):
        return False
    marked.difference_update(packages)
    return True
