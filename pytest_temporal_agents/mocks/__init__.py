"""Stand-ins for what a workflow calls: activity and child-workflow mocks replaced by
registered name, values faked from type hints, delayed signals and queries in workflow
time, a frozen activity clock, and an activity environment for unit tests."""

from ._activity_env import ActivityEnv
from ._callbacks import CallbacksFeature, DelayedCall, DelayedCallError
from ._clock import ActivityClockFeature, ActivityClockLease
from ._fakes import CannotFake, fake_value
from ._feature import MocksFeature
from ._objects import ActivityMock, Mock, MockCall, WorkflowMock

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
    "WorkflowMock",
    "fake_value",
]
