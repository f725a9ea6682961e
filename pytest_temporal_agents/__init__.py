"""pytest-temporal-agents: test Temporal workflows, above all agent-style ones, with pytest.

The ``temporal`` fixture gives each test a :class:`TemporalHarness` on a real, offline
Temporal server; see the docs for options, markers and the harness API.

Names are imported lazily (PEP 562): pytest loads this package for every run through its
entry point, and a run with no Temporal test should not pay for importing temporalio.

PYTEST_DONT_REWRITE: Temporal's sandbox re-imports this package for every run of a
workflow that imports it, and a module rewritten by pytest would drag ``_pytest`` into
each of those imports (about 0.2 s per workflow run).
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
    # faults feature
    from ._attempts import AttemptRecord
    from ._isolation import IsolatedChecksFailed
    from .faults import Fault, FaultPlan, FaultWarning
    from ._options import TemporalMarker
    # replay feature
    from ._history_files import HistoryFileError, load_history_file, save_history_file
    from ._replayer import (
        ReplayFailed,
        ReplayResult,
        load_workflow_specs,
        load_workflows,
        replay_files,
        replay_histories,
    )
    from ._servers import ServerConfig, find_binary
    # saga feature
    from ._saga import SagaAssertionError, SagaCheck
    from ._saga_analysis import SagaAnalysis, StepRun
    from ._saga_failures import SagaFailure, saga_failure_points
    from ._saga_idempotency import Rerun
    # mocks feature
    from ._activity_env import ActivityEnv
    from ._callbacks import DelayedCall, DelayedCallError
    from ._clock import ActivityClockLease
    from ._fakes import CannotFake, fake_value
    from ._mock_objects import ActivityMock, Mock, MockCall, WorkflowMock

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
    # saga feature
    "Rerun": "._saga_idempotency",
    "SagaAnalysis": "._saga_analysis",
    "SagaAssertionError": "._saga",
    "SagaCheck": "._saga",
    "SagaFailure": "._saga_failures",
    "StepRun": "._saga_analysis",
    "saga_failure_points": "._saga_failures",
    # replay feature
    "HistoryFileError": "._history_files",
    "ReplayFailed": "._replayer",
    "ReplayResult": "._replayer",
    "load_history_file": "._history_files",
    "load_workflow_specs": "._replayer",
    "load_workflows": "._replayer",
    "replay_files": "._replayer",
    "replay_histories": "._replayer",
    "save_history_file": "._history_files",
    # faults feature
    "AttemptRecord": "._attempts",
    "Fault": ".faults",
    "FaultPlan": ".faults",
    "FaultWarning": ".faults",
    "IsolatedChecksFailed": "._isolation",
    # mocks feature
    "ActivityClockLease": "._clock",
    "ActivityEnv": "._activity_env",
    "ActivityMock": "._mock_objects",
    "CannotFake": "._fakes",
    "DelayedCall": "._callbacks",
    "DelayedCallError": "._callbacks",
    "Mock": "._mock_objects",
    "MockCall": "._mock_objects",
    "WorkflowMock": "._mock_objects",
    "fake_value": "._fakes",
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
