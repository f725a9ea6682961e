"""Chaos: kill -9 the worker and the dev server at random moments while the reference system
paper-trades, then check that every workflow completed and that the ledger adds up.

The test owns its processes rather than going through the CLI: a ``temporal server start-dev``
on a fixed port and SQLite file (restarted on both after each kill, so it comes back with its
history), and worker processes forked by ``tests/support/chaos_worker.py``. While it kills,
it keeps starting paper trades (sagas that buy and sell, polled limit orders, the automated
trader), so kills land in every step: reserving, placing, confirming, compensating, polling,
executing.

Acceptable outcomes: a workflow that completed, or a saga that failed with ``TradeSagaFailed``
for a broker reason (a sale of shares not held yet, cash run out) after compensating. Anything
else (a timeout, retries run out, a compensation that failed, a workflow still running after
the settle time) fails the test. Then ``PaperLedger.audit(settled=True)`` must find nothing,
and every workflow's result must agree with the ledger: the ledger's fills are exactly the
fills that the workflows report.

A failure prints the seed and the kill schedule; ``CHAOS_SEED=N`` replays the same schedule
(the moments are the same; what the processes were doing at each is not).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from pytest_temporal_agents.servers import find_binary
from reference_workflows.activities import TRADING_TASK_QUEUE
from reference_workflows.ledger import BROKER_ERROR_TYPES, PaperLedger
from reference_workflows.models import ExecutionStatus, OrderStatus, ReservationStatus, Side
from reference_workflows.workflows.common import RetryOptions
from reference_workflows.workflows.polling import OrderPollingInput, OrderPollingWorkflow
from reference_workflows.workflows.saga import (
    TRADE_SAGA_FAILED,
    TradeSagaInput,
    TradeSagaWorkflow,
)
from reference_workflows.workflows.trading import AutomatedTradingInput, AutomatedTradingWorkflow

pytestmark = pytest.mark.chaos

KILLS = 50
ACCOUNT = "chaos"
FUNDING = 100_000.0  # the worker's PaperBroker opens accounts with this
AS_OF = datetime(2025, 6, 2, 15, 30, tzinfo=timezone.utc)
SYMBOLS = ("AAPL", "MSFT", "NVDA")
SETTLE = timedelta(seconds=120)
WORKER_SCRIPT = Path(__file__).parents[1] / "support" / "chaos_worker.py"

# Short activity timeouts and patient retries: a killed worker's activity is retried after 2 s,
# and no number of kills exhausts the attempts.
ACTIVITY = {
    "activity_timeout_seconds": 2.0,
    "retry": RetryOptions(
        initial_interval_seconds=0.2, maximum_interval_seconds=1.0, maximum_attempts=200
    ),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class _Process:
    """A child we start, kill -9 and start again, with its output kept in a log file."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class _Workers:
    """The worker, killed -9 and replaced: each one forked by ``chaos_worker.py``'s fork
    server, which imported everything once, so a replacement polls within moments."""

    def __init__(self, argv: list[str], logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        with (logs / "fork-server.log").open("wb") as out:
            self.server = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
                env=env,
                start_new_session=True,
            )
        self.pid: int | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.logs / f"worker-{self.starts}.log"

    def start(self) -> None:
        assert self.server.stdin is not None and self.server.stdout is not None
        self.starts += 1
        self.server.stdin.write(f"{self.log}\n".encode())
        self.server.stdin.flush()
        line = self.server.stdout.readline()
        assert line.strip().isdigit(), f"the fork server did not fork: {line!r}\n" + self.tail()
        self.pid = int(line)

    async def ready(self) -> None:
        """Wait until the worker polls (it says so), so the next kill hits a working worker."""
        deadline = time.monotonic() + 30
        while not self.log.exists() or "worker running" not in self.log.read_text(
            "utf-8", "replace"
        ):
            assert self.alive(), "worker exited on start:\n" + self.tail()
            assert time.monotonic() < deadline, "worker did not start:\n" + self.tail()
            await asyncio.sleep(0.02)

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while self.alive():  # the fork server's kernel reaping takes a moment
            assert time.monotonic() < deadline, f"worker {self.pid} survived kill -9"
            time.sleep(0.01)

    def close(self) -> None:
        self.kill()
        if self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        for stream in (self.server.stdin, self.server.stdout):
            if stream is not None:
                stream.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text("utf-8", "replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Chaos:
    seed: int
    server: _Process
    worker: _Workers
    port: int
    schedule: list[str] = field(default_factory=list)
    started: list[tuple[str, WorkflowHandle[Any, Any]]] = field(default_factory=list)

    def report(self) -> str:
        return (
            f"chaos seed {self.seed} (rerun with CHAOS_SEED={self.seed}); kill schedule:\n  "
            + "\n  ".join(self.schedule)
            + f"\n--- server log tail:\n{self.server.tail()}\n--- worker log tail:\n"
            + self.worker.tail()
        )

    async def server_up(self, client: Client | None = None) -> None:
        deadline = time.monotonic() + 30
        while not _listening(self.port):
            assert self.server.alive(), "dev server exited on start:\n" + self.server.tail()
            assert time.monotonic() < deadline, "dev server did not listen:\n" + self.report()
            await asyncio.sleep(0.05)
        if client is not None:
            while True:  # listening is not yet serving: wait for an answer
                try:
                    await client.workflow_service.get_system_info(
                        _system_info_request(), timeout=timedelta(seconds=1)
                    )
                    return
                except RPCError:
                    assert time.monotonic() < deadline, "dev server not serving:\n" + self.report()
                    await asyncio.sleep(0.05)


def _system_info_request() -> Any:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()


def _workload(rng: random.Random, index: int, prefix: str) -> tuple[str, Any, Any]:
    """The ``index``-th paper trade: (workflow id, run method, input)."""
    kind = rng.choice(("saga-buy", "saga-buy", "saga-sell", "polling", "automated"))
    symbol = rng.choice(SYMBOLS)
    workflow_id = f"{prefix}-{index:03d}-{kind}"
    price = round(rng.uniform(90.0, 110.0), 2)
    common: dict[str, Any] = {"account_id": ACCOUNT, "as_of": AS_OF, **ACTIVITY}
    if kind.startswith("saga"):
        side = Side.BUY if kind == "saga-buy" else Side.SELL
        quantity = rng.randint(5, 15) if side is Side.BUY else rng.randint(1, 6)
        request: Any = TradeSagaInput(
            symbol, side=side, quantity=quantity, limit_price=price, **common
        )
        return workflow_id, TradeSagaWorkflow.run, request
    if kind == "polling":
        request = OrderPollingInput(
            symbol,
            quantity=rng.randint(1, 10),
            limit_price=price,
            max_polls=50,
            initial_interval_seconds=0.1,
            maximum_interval_seconds=0.5,
            **common,
        )
        return workflow_id, OrderPollingWorkflow.run, request
    request = AutomatedTradingInput(symbol, max_quantity=20, **common)
    return workflow_id, AutomatedTradingWorkflow.run, request


async def _start(chaos: _Chaos, client: Client, workflow_id: str, run: Any, arg: Any) -> None:
    """Start one workflow, retrying while the server is down (a start whose answer was lost
    finds the workflow already started, which is a start too)."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    deadline = time.monotonic() + 30
    while True:
        try:
            handle = await client.start_workflow(
                run,
                arg,
                id=workflow_id,
                task_queue=TRADING_TASK_QUEUE,
                # A killed worker's workflow task is handed out again after this, not 10 s.
                task_timeout=timedelta(seconds=2),
                rpc_timeout=timedelta(seconds=2),
            )
            break
        except WorkflowAlreadyStartedError:
            handle = client.get_workflow_handle(workflow_id)
            break
        except RPCError:
            assert time.monotonic() < deadline, f"could not start {workflow_id}\n" + chaos.report()
            if not chaos.server.alive():
                chaos.server.start()
            await asyncio.sleep(0.1)
    chaos.started.append((workflow_id, handle))


async def _outcome(handle: WorkflowHandle[Any, Any]) -> tuple[str, Any]:
    """("completed", result) or ("compensated", failure details); anything else raises."""
    try:
        return "completed", await handle.result(rpc_timeout=timedelta(seconds=5))
    except WorkflowFailureError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == TRADE_SAGA_FAILED:
            return "compensated", cause.details[0] if cause.details else None
        raise


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[_Chaos]:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(2**32))
    port = _free_port()
    server = _Process(
        "server",
        [
            str(find_binary("local")),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(_free_port()),
            "--headless",
            "--db-filename",
            str(tmp_path / "temporal.sqlite"),
            "--log-level",
            "error",
        ],
        tmp_path / "server.log",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    worker = _Workers(
        [sys.executable, str(WORKER_SCRIPT), f"127.0.0.1:{port}", str(tmp_path / "ledger.sqlite3")],
        tmp_path,
        env,
    )
    chaos = _Chaos(seed, server, worker, port)
    try:
        yield chaos
    finally:
        worker.close()
        server.kill()


async def test_kill_9_worker_and_server_keeps_every_workflow_and_the_ledger_whole(
    chaos: _Chaos, tmp_path: Path
) -> None:
    rng = random.Random(chaos.seed)
    print(f"chaos seed {chaos.seed}")
    began = time.monotonic()
    chaos.server.start()
    await chaos.server_up()
    client = await Client.connect(f"127.0.0.1:{chaos.port}")
    await chaos.server_up(client)
    chaos.worker.start()
    await chaos.worker.ready()

    index = 0
    for kill in range(KILLS):
        # Keep trades in flight: start one or two before each kill.
        for _ in range(rng.choice((1, 1, 2))):
            workflow_id, run, arg = _workload(rng, index, f"chaos-{chaos.seed}")
            await _start(chaos, client, workflow_id, run, arg)
            index += 1
        # A paper trade takes a fraction of a second from start to finish (its activities
        # are ledger writes), so most kills come while the trades just started are still
        # running, and some after a longer wait, when older work has moved on or settled.
        await asyncio.sleep(
            rng.uniform(0.02, 0.4) if rng.random() < 0.75 else rng.uniform(0.4, 1.2)
        )
        target = rng.choices(("worker", "server", "both"), weights=(6, 3, 1))[0]
        chaos.schedule.append(
            f"{time.monotonic() - began:6.2f}s kill {kill + 1}: {target} "
            f"({len(chaos.started)} workflows started)"
        )
        if target in ("worker", "both"):
            chaos.worker.kill()
        if target in ("server", "both"):
            chaos.server.kill()
        # The worker may also have died on its own (it should not): bring back whatever is down.
        if not chaos.server.alive():
            chaos.server.start()
            await chaos.server_up(client)
        if not chaos.worker.alive():
            chaos.worker.start()
            await chaos.worker.ready()

    assert chaos.worker.starts > 1 and chaos.server.starts > 1, chaos.report()
    chaos_ended = time.monotonic()
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(_outcome(handle) for _, handle in chaos.started)),
            SETTLE.total_seconds(),
        )
    except Exception as error:
        running = []
        for workflow_id, handle in chaos.started:
            description = await handle.describe()
            if description.status is None or description.status.name != "COMPLETED":
                running.append(f"{workflow_id}: {description.status}")
        raise AssertionError(
            f"not every workflow completed ({error!r}):\n  "
            + "\n  ".join(running)
            + "\n"
            + chaos.report()
        ) from error
    kinds = Counter(
        f"{workflow_id.split('-', 3)[3]} {outcome}"
        + (f" ({value.get('error_type')})" if isinstance(value, dict) else "")
        for (workflow_id, _), (outcome, value) in zip(chaos.started, outcomes)
    )
    print(
        f"{KILLS} kills ({chaos.worker.starts - 1} worker, {chaos.server.starts - 1} server "
        f"restarts) in {chaos_ended - began:.1f}s, settled in "
        f"{time.monotonic() - chaos_ended:.1f}s; {len(outcomes)} workflows: {dict(kinds)}"
    )

    # The kills landed in the middle of things: an activity ran again, or a workflow task
    # timed out, because the worker that had it died.
    retried = timed_out = 0
    for _, handle in chaos.started:
        history = await handle.fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                retried += event.activity_task_started_event_attributes.attempt > 1
            timed_out += event.HasField("workflow_task_timed_out_event_attributes")
    print(f"interrupted: {retried} activity attempts retried, {timed_out} workflow tasks timed out")
    assert retried + timed_out > 0, "no kill interrupted any work\n" + chaos.report()

    ledger = PaperLedger(tmp_path / "ledger.sqlite3", starting_cash=FUNDING)
    problems = ledger.audit({ACCOUNT: FUNDING}, settled=True)
    assert problems == [], "\n".join(problems) + "\n" + chaos.report()
    problems = _disagreements(ledger, [wid for wid, _ in chaos.started], outcomes)
    assert problems == [], "\n".join(problems) + "\n" + chaos.report()
    # The run traded: some workflows filled orders, so the audit checked something.
    assert len(ledger.fills(ACCOUNT)) >= 5, chaos.report()


def _disagreements(
    ledger: PaperLedger, workflow_ids: list[str], outcomes: list[tuple[str, Any]]
) -> list[str]:
    """Where a workflow's result and the ledger disagree."""
    orders = {order.order_id: order for order in ledger.orders()}
    reservations = {r.reservation_id: r for r in ledger.reservations()}
    problems: list[str] = []
    reported: list[str] = []
    for workflow_id, (outcome, value) in zip(workflow_ids, outcomes):
        if outcome == "compensated":
            error_type = value.get("error_type") if isinstance(value, dict) else None
            if error_type not in BROKER_ERROR_TYPES:
                problems.append(f"{workflow_id} failed for a non-broker reason: {value!r}")
            continue
        filled: str | None = None
        if "saga" in workflow_id:
            filled = value.fill.order_id
            if value.reservation is not None:
                status = reservations[value.reservation.reservation_id].status
                if status is not ReservationStatus.CONSUMED:
                    problems.append(f"{workflow_id}: its reservation is {status.value}")
        elif "polling" in workflow_id:
            filled = value.order.order_id
        elif value.status is ExecutionStatus.FILLED:
            filled = value.execution.order_id
        if filled is not None and (
            filled not in orders or orders[filled].status is not OrderStatus.FILLED
        ):
            problems.append(f"{workflow_id} reports order {filled!r} filled; the ledger does not")
        if filled is not None:
            reported.append(filled)
    # Each fill belongs to exactly one workflow that reports it: a trade applied twice under
    # two order ids would pass the audit (each order filled once) but not this.
    in_ledger = Counter(fill.order_id for fill in ledger.fills())
    unreported, unrecorded = in_ledger - Counter(reported), Counter(reported) - in_ledger
    problems += [
        f"the ledger fills order {order_id!r}; no workflow reports it" for order_id in unreported
    ]
    problems += [
        f"order {order_id!r} is reported filled by {count + in_ledger[order_id]} workflows"
        for order_id, count in unrecorded.items()
        if in_ledger[order_id]
    ]
    return problems
