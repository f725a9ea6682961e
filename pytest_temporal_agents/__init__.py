"""pytest-temporal-agents: test Temporal workflows, above all agent-style ones, with pytest.

The ``temporal`` fixture gives each test a :class:`TemporalHarness` on a real, offline
Temporal server; see the docs for options, markers and the harness API.

Names are imported lazily (PEP 562): pytest loads this package for every run through its
entry point, and a run with no Temporal test should not pay for importing temporalio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import (
        HarnessUsageError,
        ServerBinaryNotFound,
        TemporalAgentsError,
        TemporalAgentsWarning,
        TemporalConfigError,
        WorkflowTimeoutError,
    )
    from ._harness import TemporalHarness
    from ._history import ActivityRecord, ChildRecord, History, SignalRecord, TimerRecord
    from ._options import TemporalMarker
    from ._servers import ServerConfig, find_binary

_EXPORTS = {
    "ActivityRecord": "._history",
    "ChildRecord": "._history",
    "HarnessUsageError": "._errors",
    "History": "._history",
    "ServerBinaryNotFound": "._errors",
    "ServerConfig": "._servers",
    "SignalRecord": "._history",
    "TemporalAgentsError": "._errors",
    "TemporalAgentsWarning": "._errors",
    "TemporalConfigError": "._errors",
    "TemporalHarness": "._harness",
    "TemporalMarker": "._options",
    "TimerRecord": "._history",
    "WorkflowTimeoutError": "._errors",
    "find_binary": "._servers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
