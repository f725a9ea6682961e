"""What the plugin's hooks need beyond pytest's public API: hypothesis settings, assertion rewriting.

Let ``@given`` tests take the ``temporal`` fixture (:func:`relax_for_temporal`).

Hypothesis fails a ``@given`` test that takes a function-scoped fixture (health check
``function_scoped_fixture``): the fixture is not reset between examples. ``temporal`` is
meant to outlive the examples: each example opens ``temporal.isolated()``, a fresh
harness with its own task queue, mocks and faults, and ``temporal.inject`` refuses to be
called on the outer harness inside an example. So for these tests the plugin suppresses
that health check, and lifts hypothesis's default 200 ms deadline, which a workflow run on
a real server (worker start, replay check) does not fit reliably. A deadline the test sets
itself (anything but the default) is kept.
"""

from __future__ import annotations

from typing import Any

FIXTURE = "temporal"


def relax_for_temporal(item: Any) -> bool:
    """Adjust the hypothesis settings of one collected test; return whether it changed."""
    test: Any = getattr(item, "obj", None)
    if FIXTURE not in getattr(item, "fixturenames", ()) or not getattr(test, "is_hypothesis_test", False):
        return False
    from hypothesis import HealthCheck, settings

    target: Any = getattr(test, "__func__", test)  # a test method: settings live on the function
    current: settings = getattr(target, "_hypothesis_internal_use_settings", None) or settings()
    default_deadline = settings.get_profile("default").deadline
    target._hypothesis_internal_use_settings = settings(
        current,
        suppress_health_check=sorted(
            {*current.suppress_health_check, HealthCheck.function_scoped_fixture}, key=lambda h: h.value
        ),
        deadline=None if current.deadline == default_deadline else current.deadline,
    )
    return True


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
