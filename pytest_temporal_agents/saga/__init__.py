"""Saga assertions on a workflow's real history: which steps ran, which were compensated,
in what order, whether compensations are idempotent, and where a saga can be made to fail."""

from ._analysis import SagaAnalysis, StepRun
from ._failures import DEFAULT_KINDS, FaultKind, SagaFailure, saga_failure_points
from ._feature import SagaAssertionError, SagaCheck, SagaFeature
from ._idempotency import Rerun

__all__ = [
    "DEFAULT_KINDS",
    "FaultKind",
    "Rerun",
    "SagaAnalysis",
    "SagaAssertionError",
    "SagaCheck",
    "SagaFailure",
    "SagaFeature",
    "StepRun",
    "saga_failure_points",
]
