"""Stand-ins for what a workflow calls: activity and child-workflow mocks replaced by
registered name, Nexus operation mocks behind real endpoints, values faked from type hints,
delayed signals, queries and updates in workflow time, a frozen activity clock, and an
activity environment for unit tests."""

from ._activity_env import ActivityEnv
from ._callbacks import CallbacksFeature, DelayedCall, DelayedCallError
from ._clock import ActivityClockFeature, ActivityClockLease
from ._fakes import CannotFake, fake_value
from ._feature import MocksFeature
from ._objects import ActivityMock, Mock, MockCall, NexusOperationMock, WorkflowMock

__all__ = [
    "ActivityClockFeature",
    "ActivityClockLease",
    "ActivityEnv",
    "ActivityMock",
    "CallbacksFeature",
    "CannotFake",
    "DelayedCall",
    "DelayedCallError",
    "Mock",
    "MockCall",
    "MocksFeature",
    "NexusOperationMock",
    "WorkflowMock",
    "fake_value",
]
