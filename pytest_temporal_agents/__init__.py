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

from typing import TYPE_CHECKING

from ._unrewritten import exempt_in_installed_hooks

# Loaded by pytest to load the plugin: its modules from here on load their compiled bytecode
# instead of being parsed and rewritten on every run (_unrewritten.py says why).
exempt_in_installed_hooks()

from ._lazy import lazy_names  # after the line above: loaded as bytecode

if TYPE_CHECKING:  # names as the type checker sees them (X as X: re-exported)
    from ._errors import BodyTimeoutError as BodyTimeoutError
    from ._errors import HarnessUsageError as HarnessUsageError
    from ._errors import ServerBinaryNotFound as ServerBinaryNotFound
    from ._errors import ServerDiedError as ServerDiedError
    from ._errors import TemporalAgentsError as TemporalAgentsError
    from ._errors import TemporalAgentsWarning as TemporalAgentsWarning
    from ._errors import TemporalConfigError as TemporalConfigError
    from ._errors import WorkflowTimeoutError as WorkflowTimeoutError
    from ._extras import ExtraMissing as ExtraMissing
    from .faults import AttemptRecord as AttemptRecord
    from .faults import Fault as Fault
    from .faults import FaultPlan as FaultPlan
    from .faults import FaultWarning as FaultWarning
    from .harness import IsolatedChecksFailed as IsolatedChecksFailed
    from .harness import TemporalHarness as TemporalHarness
    from .harness import TemporalMarker as TemporalMarker
    from .history import ActivityRecord as ActivityRecord
    from .history import ChildRecord as ChildRecord
    from .history import History as History
    from .history import HistoryFileError as HistoryFileError
    from .history import SignalRecord as SignalRecord
    from .history import TimerRecord as TimerRecord
    from .history import load_history_file as load_history_file
    from .history import save_history_file as save_history_file
    from .llm import FakeLLM as FakeLLM
    from .llm import FakeLLMError as FakeLLMError
    from .llm import FakeLLMProblems as FakeLLMProblems
    from .llm import LLMExtraMissing as LLMExtraMissing
    from .llm import LLMRequest as LLMRequest
    from .mocks import ActivityClockLease as ActivityClockLease
    from .mocks import ActivityEnv as ActivityEnv
    from .mocks import ActivityMock as ActivityMock
    from .mocks import CannotFake as CannotFake
    from .mocks import DelayedCall as DelayedCall
    from .mocks import DelayedCallError as DelayedCallError
    from .mocks import Mock as Mock
    from .mocks import MockCall as MockCall
    from .mocks import NexusOperationMock as NexusOperationMock
    from .mocks import WorkflowMock as WorkflowMock
    from .mocks import fake_value as fake_value
    from .replay import ReplayFailed as ReplayFailed
    from .replay import ReplayResult as ReplayResult
    from .replay import load_workflow_specs as load_workflow_specs
    from .replay import load_workflows as load_workflows
    from .replay import replay_files as replay_files
    from .replay import replay_histories as replay_histories
    from .saga import Rerun as Rerun
    from .saga import SagaAnalysis as SagaAnalysis
    from .saga import SagaAssertionError as SagaAssertionError
    from .saga import SagaCheck as SagaCheck
    from .saga import SagaFailure as SagaFailure
    from .saga import StepRun as StepRun
    from .saga import saga_failure_points as saga_failure_points
    from .servers import ServerConfig as ServerConfig
    from .servers import find_binary as find_binary

#: Public names, by the module (or subpackage) that defines them.
_EXPORTED_BY = {
    "._errors": "BodyTimeoutError HarnessUsageError ServerBinaryNotFound ServerDiedError TemporalAgentsError TemporalAgentsWarning "
    "TemporalConfigError WorkflowTimeoutError",
    "._extras": "ExtraMissing",
    ".faults": "AttemptRecord Fault FaultPlan FaultWarning",
    ".harness": "IsolatedChecksFailed TemporalHarness TemporalMarker",
    ".history": "ActivityRecord ChildRecord History HistoryFileError SignalRecord TimerRecord "
    "load_history_file save_history_file",
    ".llm": "FakeLLM FakeLLMError FakeLLMProblems LLMExtraMissing LLMRequest",
    ".mocks": "ActivityClockLease ActivityEnv ActivityMock CannotFake DelayedCall DelayedCallError "
    "Mock MockCall NexusOperationMock WorkflowMock fake_value",
    ".replay": "ReplayFailed ReplayResult load_workflow_specs load_workflows replay_files "
    "replay_histories",
    ".saga": "Rerun SagaAnalysis SagaAssertionError SagaCheck SagaFailure StepRun "
    "saga_failure_points",
    ".servers": "ServerConfig find_binary",
}
__getattr__ = lazy_names(__name__, _EXPORTED_BY)

__all__ = sorted(name for names in _EXPORTED_BY.values() for name in names.split())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
