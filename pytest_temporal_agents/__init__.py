"""pytest-temporal-agents: test Temporal workflows, above all agent-style ones, with pytest.

The ``temporal`` fixture gives each test a :class:`TemporalHarness` on a real, offline
Temporal server; the ``fake_llm`` fixture a :class:`FakeLLM` that answers as OpenAI and
Anthropic do; see the docs for options, markers and the APIs.

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
    from .faults import AttemptRecord, Fault, FaultPlan, FaultWarning
    from .harness import IsolatedChecksFailed, TemporalHarness, TemporalMarker
    from .history import (
        ActivityRecord,
        ChildRecord,
        History,
        HistoryFileError,
        SignalRecord,
        TimerRecord,
        load_history_file,
        save_history_file,
    )
    from .llm import FakeLLM, FakeLLMError, FakeLLMProblems, LLMExtraMissing, LLMRequest
    from .mocks import (
        ActivityClockLease,
        ActivityEnv,
        ActivityMock,
        CannotFake,
        DelayedCall,
        DelayedCallError,
        Mock,
        MockCall,
        WorkflowMock,
        fake_value,
    )
    from .replay import (
        ReplayFailed,
        ReplayResult,
        load_workflow_specs,
        load_workflows,
        replay_files,
        replay_histories,
    )
    from .saga import (
        Rerun,
        SagaAnalysis,
        SagaAssertionError,
        SagaCheck,
        SagaFailure,
        StepRun,
        saga_failure_points,
    )
    from .servers import ServerConfig, find_binary

#: Public names, by the module (or subpackage) that defines them.
_EXPORTED_BY = {
    "._errors": "HarnessUsageError ServerBinaryNotFound TemporalAgentsError TemporalAgentsWarning "
    "TemporalConfigError WorkflowTimeoutError",
    ".faults": "AttemptRecord Fault FaultPlan FaultWarning",
    ".harness": "IsolatedChecksFailed TemporalHarness TemporalMarker",
    ".history": "ActivityRecord ChildRecord History HistoryFileError SignalRecord TimerRecord "
    "load_history_file save_history_file",
    ".llm": "FakeLLM FakeLLMError FakeLLMProblems LLMExtraMissing LLMRequest",
    ".mocks": "ActivityClockLease ActivityEnv ActivityMock CannotFake DelayedCall DelayedCallError "
    "Mock MockCall WorkflowMock fake_value",
    ".replay": "ReplayFailed ReplayResult load_workflow_specs load_workflows replay_files "
    "replay_histories",
    ".saga": "Rerun SagaAnalysis SagaAssertionError SagaCheck SagaFailure StepRun "
    "saga_failure_points",
    ".servers": "ServerConfig find_binary",
}
_EXPORTS = {name: module for module, names in _EXPORTED_BY.items() for name in names.split()}

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
