"""The fault vocabulary: what goes wrong in which attempt of which activity.

Each function builds one fault; ``temporal.inject(...)`` applies it to every worker the test
builds, to real and mocked activities alike::

    from pytest_temporal_agents.faults import retryable_error, start_to_close_timeout

    temporal.inject(
        retryable_error(fetch_market_data, attempts=[1, 2], type="ExchangeUnavailable"),
        start_to_close_timeout(assess_risk),
    )

An activity is named by its function or its registered name. ``attempts`` lists the attempt
numbers (1 is the first) the fault hits, or is :data:`EVERY_ATTEMPT`; attempts of the
activity that no fault selects run the activity as usual. ``where`` narrows a fault to the
calls whose arguments it accepts (``where=lambda req: req.symbol == "TSLA"``). When two
faults select the same attempt, the one injected first applies.

Model faults (``model_error``, ``model_hang``, ``model_truncated``,
``model_malformed_tool_call``) make the test's fake model server (``fake_llm``) fail the
model requests a selected attempt makes, as ``fake_llm.fail(...)`` and its kin would: the
activity runs, and its real client raises its real exception.

Errors are raised in the worker as the activity would raise them. Timeouts are real: the
server times the attempt out, after a timeout that the workflow schedules shortened to
``shortened_to`` (see docs/how-to/faults.md for exactly what that changes).
"""

from ._attempts import AttemptRecord
from ._declare import (
    PHRASES,
    cancellation,
    error_of_type,
    heartbeat_timeout,
    non_retryable_error,
    retryable_error,
    schedule_to_close_timeout,
    start_to_close_timeout,
    worker_crash,
)
from ._feature import FaultsFeature
from ._model import (
    MODEL_PHRASES,
    model_error,
    model_hang,
    model_malformed_tool_call,
    model_truncated,
)
from ._types import (
    DEFAULT_SHORTENED_TIMEOUT,
    EVERY_ATTEMPT,
    INJECTED_ERROR_TYPE,
    CancellationFault,
    ErrorFault,
    Fault,
    FaultPlan,
    FaultWarning,
    ModelFault,
    TimeoutFault,
    WorkerCrash,
)

__all__ = [
    "DEFAULT_SHORTENED_TIMEOUT",
    "EVERY_ATTEMPT",
    "INJECTED_ERROR_TYPE",
    "MODEL_PHRASES",
    "PHRASES",
    "AttemptRecord",
    "CancellationFault",
    "ErrorFault",
    "Fault",
    "FaultPlan",
    "FaultWarning",
    "FaultsFeature",
    "ModelFault",
    "TimeoutFault",
    "WorkerCrash",
    "cancellation",
    "error_of_type",
    "heartbeat_timeout",
    "model_error",
    "model_hang",
    "model_malformed_tool_call",
    "model_truncated",
    "non_retryable_error",
    "retryable_error",
    "schedule_to_close_timeout",
    "start_to_close_timeout",
    "worker_crash",
]
