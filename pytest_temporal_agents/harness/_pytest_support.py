"""What the plugin's hooks need beyond pytest's public API: hypothesis settings, assertion rewriting
(``.._unrewritten``).

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

# Named here for the plugin's hooks; the logic sits beside the package's __init__, which
# runs it before the plugin module is imported.
from .._unrewritten import UNREWRITTEN_PACKAGES, exempt_from_assertion_rewriting

__all__ = ["FIXTURE", "UNREWRITTEN_PACKAGES", "exempt_from_assertion_rewriting", "relax_for_temporal"]

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
