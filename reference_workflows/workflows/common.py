"""What every pattern module shares: the inputs' and outcomes' common fields, the retry policy,
and failures.

Every pattern's input is a dataclass that extends one of the bases here, so the fields that mean
the same thing everywhere are declared, defaulted and documented once. Positionally an input
starts with ``symbol`` (then an order's ``strategy``, ``side``, ``quantity``), then its own
fields; the other shared fields are keyword-only.

- ``ActivityInput``: how the workflow's activities are retried (``retry``) and timed out
  (``activity_timeout_seconds``), turned into ``execute_activity`` options by
  ``activity_options()``.
- ``MarketInput``: also the market the workflow reads: pinned to ``as_of`` (default: the
  workflow's time, read once) and served by the workers of ``market_data_task_queue`` (default:
  the workflow's own queue; ``market_data_options()``).
- ``TradeInput``: also the ``symbol`` traded, for ``account_id`` on ``exchange``.
- ``OrderTermsInput``: a ``TradeInput`` for one order's ``side`` and ``quantity``.
- ``AnalysisInput``: also the bars its agents analyse (``timeframe``, ``bars``).
- ``OrderInput``: an ``AnalysisInput`` for one order (``strategy``, ``side``, ``quantity``).

A result that reports one trade's outcome starts with a ``TradeOutcome``: the ``symbol``, its
``status`` and the ``reason``.

Transient failures (an exchange that is down) are retried with exponential backoff, while the
domain's permanent errors (unknown symbol, insufficient funds...) are listed as non-retryable,
so they fail at once instead of burning attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from reference_workflows.agents import AGENT_MISCONFIGURED, INVALID_CONSENSUS_REQUEST
from reference_workflows.analysis import INSUFFICIENT_MARKET_DATA
from reference_workflows.broker import BROKER_ERROR_TYPES, INSUFFICIENT_FUNDS, INSUFFICIENT_POSITION
from reference_workflows.market import (
    CORRUPT_MARKET_DATA,
    INVALID_MARKET_DATA_REQUEST,
    UNKNOWN_SYMBOL,
)
from reference_workflows.models import (
    AgentContext,
    ExecutionStatus,
    RiskAssessment,
    Side,
    Strategy,
    TradeRequest,
)
from reference_workflows.risk import INVALID_TRADE_REQUEST

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

INVALID_WORKFLOW_INPUT = "InvalidWorkflowInput"
"""ApplicationError type of a workflow input that cannot work (the workflow fails at once)."""
INSUFFICIENT_MARKET_SOURCES = "InsufficientMarketSources"
"""ApplicationError type when fewer exchanges answered than ``min_sources``."""

NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = (
    INVALID_MARKET_DATA_REQUEST,
    UNKNOWN_SYMBOL,
    CORRUPT_MARKET_DATA,
    INSUFFICIENT_MARKET_DATA,
    INVALID_TRADE_REQUEST,
    *BROKER_ERROR_TYPES,
    AGENT_MISCONFIGURED,
    INVALID_CONSENSUS_REQUEST,
)
"""Domain errors that the same call would raise again: retrying them only delays the failure.

The activities already mark these non-retryable; listing them in the policy as well keeps the
guarantee if an activity implementation (an LLM reasoner, a real broker client) forgets to.
"""

REFUSALS = frozenset({INSUFFICIENT_FUNDS, INSUFFICIENT_POSITION})
"""Broker errors that are an outcome of the trade (REJECTED), not a failure of the workflow."""

DEFAULT_EXCHANGES = ["NYSE", "NASDAQ", "LSE"]

_Input = TypeVar("_Input", bound="ActivityInput")
_Data = TypeVar("_Data", bound="DataclassInstance")


def with_fields_of(cls: type[_Data], source: DataclassInstance, **changes: Any) -> _Data:
    """A dataclass ``cls`` with the value of every field that dataclass ``source`` has too,
    and ``changes``."""
    names = {spec.name for spec in fields(cls) if spec.init}
    shared = {
        spec.name: getattr(source, spec.name) for spec in fields(source) if spec.name in names
    }
    return cls(**{**shared, **changes})


@dataclass
class RetryOptions:
    """How activities are retried: exponential backoff, bounded attempts.

    Seconds rather than ``timedelta`` so that the input stays plain JSON for the CLI.
    """

    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 30.0
    maximum_attempts: int = 5


def retry_policy(options: RetryOptions) -> RetryPolicy:
    """The activity retry policy for ``options``, with the domain's permanent errors excluded.

    Raises:
        ApplicationError: (``InvalidWorkflowInput``) an option is out of range.
    """
    if options.initial_interval_seconds <= 0 or options.maximum_attempts < 1:
        raise invalid_input(
            f"retry options {options!r} cannot work; use initial_interval_seconds > 0 and "
            "maximum_attempts >= 1"
        )
    return RetryPolicy(
        initial_interval=timedelta(seconds=options.initial_interval_seconds),
        backoff_coefficient=options.backoff_coefficient,
        maximum_interval=timedelta(
            seconds=max(options.maximum_interval_seconds, options.initial_interval_seconds)
        ),
        maximum_attempts=options.maximum_attempts,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    )


# --------------------------------------------------------------------------- the inputs' bases


@dataclass(kw_only=True)
class ActivityInput:
    """The fields of a workflow input that say how its activities run."""

    retry: RetryOptions = field(default_factory=RetryOptions)
    activity_timeout_seconds: float = 30.0

    def activity_options(self) -> dict[str, Any]:
        """``execute_activity`` options: the start-to-close timeout and the retry policy.

        Raises:
            ApplicationError: (``InvalidWorkflowInput``) ``retry`` cannot work.
        """
        return {
            "start_to_close_timeout": timedelta(seconds=self.activity_timeout_seconds),
            "retry_policy": retry_policy(self.retry),
        }

    def child_input(self, child: type[_Input], **changes: Any) -> _Input:
        """The input of class ``child`` that a parent passes on to a child workflow.

        Returns:
            A ``child`` with every field that this input has too (the symbol, the order's
            terms, the retries and timeouts, and where both have them the market moment and
            queue, the account, the exchange, the bars), and ``changes``.
        """
        return with_fields_of(child, self, **changes)


@dataclass(kw_only=True)
class MarketInput(ActivityInput):
    """An ``ActivityInput`` that also says which market moment to read, and where."""

    as_of: datetime | None = None
    market_data_task_queue: str | None = None

    def market_data_options(self) -> dict[str, Any]:
        """``activity_options()`` sending the activity to the market-data workers."""
        return {**self.activity_options(), "task_queue": self.market_data_task_queue}


@dataclass
class TradeInput(MarketInput):
    """A ``MarketInput`` about one ``symbol``, traded for ``account_id`` on ``exchange``."""

    symbol: str
    _: KW_ONLY
    account_id: str = "paper"
    exchange: str = "NYSE"


@dataclass
class OrderTermsInput(TradeInput):
    """A ``TradeInput`` for one order: ``quantity`` shares to buy or sell (``side``)."""

    side: Side = Side.BUY
    quantity: int = 10


@dataclass
class AnalysisInput(TradeInput):
    """A ``TradeInput`` whose agents analyse ``bars`` bars of ``timeframe``."""

    _: KW_ONLY
    timeframe: str = "1d"
    bars: int = 120

    def agent_context(self, as_of: datetime, **changes: Any) -> AgentContext:
        """What the agents know to start with: this input's market at ``as_of``.

        ``changes`` set the rest (``strategy``, reports, notes) or another ``symbol``.
        """
        context = AgentContext(
            self.symbol,
            account_id=self.account_id,
            exchange=self.exchange,
            timeframe=self.timeframe,
            bars=self.bars,
            as_of=as_of,
        )
        return replace(context, **changes)

    def trade_request(
        self, strategy: Strategy, side: Side, quantity: int | None = None
    ) -> TradeRequest:
        """A trade of this input's symbol to put before the risk model.

        ``quantity=None`` leaves the size to the risk model (its maximum position).
        """
        return TradeRequest(
            self.symbol,
            strategy,
            side,
            quantity,
            account_id=self.account_id,
            exchange=self.exchange,
        )


@dataclass
class OrderInput(AnalysisInput):
    """An ``AnalysisInput`` for one order: ``quantity`` shares to buy or sell, which the risk
    model judges by ``strategy``."""

    strategy: Strategy = Strategy.MOMENTUM
    side: Side = Side.BUY
    quantity: int = 10


@dataclass
class TradeOutcome:
    """What came of a trade of ``symbol``: FILLED, SKIPPED or REJECTED, and why."""

    symbol: str
    status: ExecutionStatus
    reason: str


# --------------------------------------------------------------------------- failures and risk


def invalid_input(message: str) -> ApplicationError:
    """A non-retryable failure for a workflow input that cannot work."""
    return ApplicationError(message, type=INVALID_WORKFLOW_INPUT, non_retryable=True)


def check_quantity(quantity: int) -> None:
    """Reject a trade of less than one share."""
    if quantity < 1:
        raise invalid_input(f"quantity={quantity!r}; trade at least 1 share")


def check_threshold(threshold: float) -> None:
    """Reject a risk threshold outside [0, 1] (risk scores live there)."""
    if not 0.0 <= threshold <= 1.0:
        raise invalid_input(f"risk_threshold={threshold!r} is outside [0, 1]; the default is 0.7")


def error_type(error: BaseException) -> str:
    """The ``ApplicationError`` type behind an activity or child failure (or the class name)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return cause.type
        cause = cause.__cause__
    return type(error).__name__


def error_message(error: BaseException) -> str:
    """The innermost message of a failure chain: what actually went wrong."""
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error)


@dataclass
class SourceFailure:
    """An exchange that did not answer, after its retries."""

    exchange: str
    error_type: str
    message: str


def too_few_sources(
    symbol: str,
    exchanges: list[str],
    answered: int,
    min_sources: int,
    failures: Sequence[SourceFailure],
) -> ApplicationError:
    """The non-retryable failure of a workflow that heard from fewer than ``min_sources``."""
    detail = "; ".join(f"{f.exchange}: {f.error_type}: {f.message}" for f in failures)
    return ApplicationError(
        f"only {answered} of {len(exchanges)} exchanges answered for "
        f"{symbol!r}, {min_sources} needed ({detail})",
        type=INSUFFICIENT_MARKET_SOURCES,
        non_retryable=True,
    )


def apply_threshold(risk: RiskAssessment, threshold: float) -> RiskAssessment:
    """``risk`` judged against the workflow's threshold instead of the risk model's default."""
    approved = risk.risk_score <= threshold and risk.max_position_size > 0
    return replace(risk, threshold=threshold, approved=approved)


def risk_too_high(risk: RiskAssessment) -> str:
    """The skip reason for a trade whose risk is above its threshold."""
    return f"risk score {risk.risk_score:.2f} is above the threshold {risk.threshold:.2f}"


__all__ = [
    "DEFAULT_EXCHANGES",
    "INSUFFICIENT_MARKET_SOURCES",
    "INVALID_WORKFLOW_INPUT",
    "NON_RETRYABLE_ERROR_TYPES",
    "REFUSALS",
    "ActivityInput",
    "AnalysisInput",
    "MarketInput",
    "OrderInput",
    "OrderTermsInput",
    "RetryOptions",
    "SourceFailure",
    "TradeInput",
    "TradeOutcome",
    "apply_threshold",
    "check_quantity",
    "check_threshold",
    "error_message",
    "error_type",
    "invalid_input",
    "retry_policy",
    "too_few_sources",
    "with_fields_of",
]
