"""Saga: a trade in three steps that either all happen or are all undone.

``TradeSagaWorkflow`` reserves the capital (buys only), places a limit order against the
reservation and confirms its execution. Each step's compensation (releasing the reservation,
cancelling the order) is pushed on a stack *before* the step runs. If a step fails, the stack
is unwound in reverse order, and the workflow fails with a non-retryable ``TradeSagaFailed``
error that names the failed step, its cause and the compensations that undid something.

Why before: a step can take effect and still fail, for instance when an attempt ran but its
result was lost and the retry then failed for good. A saga that pushed a compensation only
after seeing its step succeed would leave that reservation open. The broker derives the id of
a reservation or an order from its idempotency key (``reservation_id_for``, ``order_id_for``),
so the compensation can name it without the step's result; if the step never took effect, the
compensation (sent with ``missing_ok=True``) finds nothing, returns None and changes nothing.
Workflows started before this change (no ``compensations-before-steps`` patch marker in their
history) keep the old order, so their histories still replay.

Every step and every compensation carries an idempotency key derived from the workflow id, so a
retried activity never applies twice; and the broker's compensations are idempotent themselves
(releasing a released reservation, cancelling a cancelled order change nothing), so running the
stack again after a crash is safe. A compensation that still fails after its own, more patient,
retries fails the workflow with ``TradeSagaCompensationFailed``: the ledger needs a human.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from reference_workflows.broker import PaperBroker
    from reference_workflows.ledger import order_id_for, reservation_id_for
    from reference_workflows.models import (
        CancelOrderRequest,
        ConfirmExecutionRequest,
        Fill,
        Order,
        ReleaseCapitalRequest,
        Reservation,
        ReserveCapitalRequest,
        Side,
    )
    from reference_workflows.workflows.common import (
        OrderTermsInput,
        RetryOptions,
        check_quantity,
        error_message,
        error_type,
        invalid_input,
        retry_policy,
    )
    from reference_workflows.workflows.steps import place_limit_order, quote_price

TRADE_SAGA_FAILED = "TradeSagaFailed"
"""ApplicationError type of a saga that failed and was compensated."""
TRADE_SAGA_COMPENSATION_FAILED = "TradeSagaCompensationFailed"
"""ApplicationError type of a saga whose compensation failed: the ledger needs a human."""

QUOTE = "get_quote"
RESERVE = "reserve_capital"
PLACE = "place_order"
CONFIRM = "confirm_execution"
RELEASE = "release_capital"
CANCEL = "cancel_order"

COMPENSATIONS_BEFORE_STEPS = "compensations-before-steps"
"""Patch id: compensations pushed before their steps (see the module's docstring)."""


@dataclass
class TradeSagaInput(OrderTermsInput):
    """A limit order to trade all-or-nothing; ``limit_price`` defaults to the quote's ask
    (buy) or bid (sell) at ``as_of``."""

    limit_price: float | None = None
    compensation_retry: RetryOptions = field(
        default_factory=lambda: RetryOptions(maximum_attempts=10)
    )
    """Compensations must not give up easily: they are all that stands between a failure and
    money stuck in a reservation."""


@dataclass
class TradeSagaResult:
    """A completed saga: what each step returned, as it returned it.

    ``reservation`` and ``order`` are as made and placed (active, pending); the ``fill`` is
    what consumed the one and filled the other.
    """

    symbol: str
    side: Side
    quantity: int
    price: float
    reservation: Reservation | None
    """None for a sale, which needs shares rather than reserved cash."""
    order: Order
    fill: Fill
    steps: list[str] = field(default_factory=list)


@dataclass
class TradeSagaFailure:
    """The details of a ``TradeSagaFailed`` error: where it failed and what was undone."""

    failed_step: str
    error_type: str
    message: str
    completed_steps: list[str]
    compensations: list[str]


@workflow.defn
class TradeSagaWorkflow:
    """Reserve, place, confirm; on failure, compensate in reverse order."""

    @workflow.run
    async def run(self, request: TradeSagaInput) -> TradeSagaResult:
        check_quantity(request.quantity)
        if request.limit_price is not None and request.limit_price <= 0:
            raise invalid_input(f"limit_price={request.limit_price!r}; give a positive price")
        workflow_id = workflow.info().workflow_id
        options = request.activity_options()
        side = Side(request.side)
        steps: list[str] = []
        # (name, activity, argument) of each compensation, in the order of its step.
        compensations: list[tuple[str, Callable[..., Any], object]] = []
        early = workflow.patched(COMPENSATIONS_BEFORE_STEPS)
        reserve_key, place_key = f"{workflow_id}:reserve", f"{workflow_id}:place"
        release_key, cancel_key = (
            f"{workflow_id}:compensate:release",
            f"{workflow_id}:compensate:cancel",
        )
        step = QUOTE
        try:
            price = request.limit_price
            if price is None:
                price = await quote_price(request, side)
                steps.append(step)

            reservation: Reservation | None = None
            if side is Side.BUY:
                step = RESERVE
                if early:
                    release = ReleaseCapitalRequest(
                        reservation_id_for(reserve_key), release_key, missing_ok=True
                    )
                    compensations.append((RELEASE, PaperBroker.release_capital, release))
                reserved: Reservation = await workflow.execute_activity_method(
                    PaperBroker.reserve_capital,
                    ReserveCapitalRequest(
                        request.account_id,
                        round(request.quantity * price, 2),
                        idempotency_key=reserve_key,
                    ),
                    **options,
                )
                steps.append(step)
                reservation = reserved
                if not early:
                    release = ReleaseCapitalRequest(reserved.reservation_id, release_key)
                    compensations.append((RELEASE, PaperBroker.release_capital, release))

            step = PLACE
            if early:
                cancel = CancelOrderRequest(order_id_for(place_key), cancel_key, missing_ok=True)
                compensations.append((CANCEL, PaperBroker.cancel_order, cancel))
            order = await place_limit_order(
                request,
                side,
                request.quantity,
                price,
                place_key,
                options,
                reservation.reservation_id if reservation else None,
            )
            steps.append(step)
            if not early:
                cancel = CancelOrderRequest(order.order_id, cancel_key)
                compensations.append((CANCEL, PaperBroker.cancel_order, cancel))

            step = CONFIRM
            fill: Fill = await workflow.execute_activity_method(
                PaperBroker.confirm_execution,
                ConfirmExecutionRequest(
                    order.order_id, idempotency_key=f"{workflow_id}:confirm", fill_price=price
                ),
                **options,
            )
            steps.append(step)
        except ActivityError as error:
            undone = await self._compensate(request, compensations)
            failure = TradeSagaFailure(step, error_type(error), error_message(error), steps, undone)
            raise ApplicationError(
                f"trade saga for {request.quantity} {request.symbol} failed at {step}: "
                f"{failure.error_type}: {failure.message}; compensated: "
                f"{', '.join(undone) or 'nothing to undo'}",
                failure,
                type=TRADE_SAGA_FAILED,
                non_retryable=True,
            ) from error
        return TradeSagaResult(
            request.symbol, side, request.quantity, price, reservation, order, fill, steps
        )

    async def _compensate(
        self,
        request: TradeSagaInput,
        compensations: list[tuple[str, Callable[..., Any], object]],
    ) -> list[str]:
        """Run the compensations last-in first-out; return the names of those that undid
        something (one that finds nothing to undo, its step having never taken effect, is
        left out)."""
        options = {
            **request.activity_options(),
            "retry_policy": retry_policy(request.compensation_retry),
        }
        undone: list[str] = []
        for name, activity, argument in reversed(compensations):
            try:
                undid = await workflow.execute_activity_method(activity, argument, **options)
            except ActivityError as error:
                raise ApplicationError(
                    f"trade saga for {request.symbol} could not {name} after its retries "
                    f"({error_type(error)}: {error_message(error)}); compensated so far: "
                    f"{', '.join(undone) or 'nothing'}. Fix the ledger by hand.",
                    type=TRADE_SAGA_COMPENSATION_FAILED,
                    non_retryable=True,
                ) from error
            if undid is not None:  # None: the step never took effect
                undone.append(name)
        return undone


WORKFLOWS: list[type] = [TradeSagaWorkflow]

__all__ = [
    "TRADE_SAGA_COMPENSATION_FAILED",
    "TRADE_SAGA_FAILED",
    "WORKFLOWS",
    "TradeSagaFailure",
    "TradeSagaInput",
    "TradeSagaResult",
    "TradeSagaWorkflow",
]
