"""The paper broker's Temporal activities, over the SQLite ledger in :mod:`.ledger`.

The activities are ``async`` methods that run the (fast, local) SQLite work in a thread with
``asyncio.to_thread``: workers need no ``activity_executor``, and the event loop never blocks.
Every mutating call carries an idempotency key (see :mod:`.ledger`), so a retried activity
never applies twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio import activity

from .ledger import (
    BROKER_ERROR_TYPES,
    DEFAULT_ACCOUNT,
    IDEMPOTENCY_KEY_CONFLICT,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_POSITION,
    INVALID_BROKER_REQUEST,
    ORDER_NOT_CANCELLABLE,
    ORDER_NOT_FILLABLE,
    UNKNOWN_ORDER,
    UNKNOWN_RESERVATION,
    BrokerError,
    IdempotencyKeyConflictError,
    InsufficientFundsError,
    InsufficientPositionError,
    InvalidBrokerRequestError,
    OrderNotCancellableError,
    OrderNotFillableError,
    PaperLedger,
    UnknownOrderError,
    UnknownReservationError,
)
from .models import (
    AccountRequest,
    AccountSnapshot,
    CancelOrderRequest,
    ConfirmExecutionRequest,
    ExecuteTradeRequest,
    Fill,
    Order,
    OrderRequest,
    OrderStatusRequest,
    ReleaseCapitalRequest,
    Reservation,
    ReserveCapitalRequest,
    TradeExecution,
    run_in_thread,
)

__all__ = [
    "BROKER_ERROR_TYPES",
    "DEFAULT_ACCOUNT",
    "IDEMPOTENCY_KEY_CONFLICT",
    "INSUFFICIENT_FUNDS",
    "INSUFFICIENT_POSITION",
    "INVALID_BROKER_REQUEST",
    "ORDER_NOT_CANCELLABLE",
    "ORDER_NOT_FILLABLE",
    "UNKNOWN_ORDER",
    "UNKNOWN_RESERVATION",
    "BrokerError",
    "IdempotencyKeyConflictError",
    "InsufficientFundsError",
    "InsufficientPositionError",
    "InvalidBrokerRequestError",
    "OrderNotCancellableError",
    "OrderNotFillableError",
    "PaperBroker",
    "PaperLedger",
    "UnknownOrderError",
    "UnknownReservationError",
]


class PaperBroker:
    """The paper broker's Temporal activities over a ``PaperLedger``.

    Every activity raises broker errors as non-retryable ``ApplicationError`` whose ``type`` is
    the error's name (``InsufficientFunds``, ``UnknownOrder``...): the same call would fail again.

    Args:
        ledger_path: the SQLite file.
        starting_cash: cash of an account the first time it is used.
        **options: ``fill_after_checks``, ``fill_after``, ``clock``, ``price_source`` of
            ``PaperLedger``.
    """

    def __init__(
        self, ledger_path: str | Path, *, starting_cash: float = 100_000.0, **options: Any
    ) -> None:
        self.ledger = PaperLedger(ledger_path, starting_cash=starting_cash, **options)

    @activity.defn
    async def reserve_capital(self, request: ReserveCapitalRequest) -> Reservation:
        """Activity: set money aside for a trade (saga step 1)."""
        return await run_in_thread(self.ledger.reserve_capital, request)

    @activity.defn
    async def release_capital(self, request: ReleaseCapitalRequest) -> Reservation | None:
        """Activity: return reserved money to cash (compensation of reserve_capital); None
        for a reservation never made, when the request says ``missing_ok``."""
        return await run_in_thread(self.ledger.release_capital, request)

    @activity.defn
    async def place_order(self, request: OrderRequest) -> Order:
        """Activity: place a PENDING order."""
        return await run_in_thread(self.ledger.place_order, request)

    @activity.defn
    async def cancel_order(self, request: CancelOrderRequest) -> Order | None:
        """Activity: cancel a PENDING order (compensation of place_order); None for an order
        never placed, when the request says ``missing_ok``."""
        return await run_in_thread(self.ledger.cancel_order, request)

    @activity.defn
    async def confirm_execution(self, request: ConfirmExecutionRequest) -> Fill:
        """Activity: fill a PENDING order; never fills one twice."""
        return await run_in_thread(self.ledger.confirm_execution, request)

    @activity.defn
    async def get_order_status(self, request: OrderStatusRequest) -> Order:
        """Activity: the order's status; what the polling workflow asks until FILLED."""
        return await run_in_thread(self.ledger.order_status, request)

    @activity.defn
    async def get_account(self, request: AccountRequest) -> AccountSnapshot:
        """Activity: cash, reserved money and positions."""
        return await run_in_thread(self.ledger.account, request.account_id)

    @activity.defn
    async def execute_trade(self, request: ExecuteTradeRequest) -> TradeExecution:
        """Activity: place and fill in one step."""
        return await run_in_thread(self.ledger.execute_trade, request)

    def snapshot(self, account_id: str = DEFAULT_ACCOUNT) -> AccountSnapshot:
        """The account now (not an activity; for tests and the CLI)."""
        return self.ledger.account(account_id)

    def open_reservations(self, account_id: str | None = None) -> list[Reservation]:
        """ACTIVE reservations (not an activity)."""
        return self.ledger.open_reservations(account_id)

    def fills(self, account_id: str | None = None) -> list[Fill]:
        """Every fill, oldest first (not an activity)."""
        return self.ledger.fills(account_id)

    def orders(self, account_id: str | None = None) -> list[Order]:
        """Every order, oldest first (not an activity)."""
        return self.ledger.orders(account_id)
