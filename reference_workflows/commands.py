"""The ``trading-agents`` commands that talk to a server: ``run``, ``server``, ``worker``,
``approve`` and ``history``. Each takes the parsed arguments, the state directory and the
console, and returns the exit code; :mod:`.cli` parses and handles errors.
"""

from __future__ import annotations

import argparse
import getpass
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

from . import cluster, runner
from .patterns import RunOptions, get_pattern, parse_strategy, parse_symbols
from .workers import running_workers

EXIT_OK = 0


def _approver(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "cli"


def _connect(
    args: argparse.Namespace, state: cluster.StateDir
) -> AbstractAsyncContextManager[cluster.Cluster]:
    """The server the connection options (``--address``, ``--namespace``, ``--ui-url``) name."""
    return cluster.open_cluster(
        state, address=args.address, namespace=args.namespace, ui_url=args.ui_url
    )


async def run(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    pattern = get_pattern(args.pattern)
    strategy = parse_strategy(args.strategy) if args.strategy else None
    options = RunOptions(parse_symbols(args.symbol), strategy, tuple(args.message))
    # Built before any server starts, so a bad option costs nothing.
    workflow_input = pattern.build_input(options)
    with runner.worker_logs_to(state.worker_log):
        async with _connect(args, state) as server:
            return await runner.run_pattern(
                server, pattern, workflow_input, console, options.messages
            )


async def serve(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    # Temporal's usual ports when free, so `temporal` CLI commands work unchanged; 0: any.
    port = cluster.free_port(cluster.DEFAULT_PORT) if args.port is None else args.port
    ui_port = cluster.free_port(cluster.DEFAULT_UI_PORT) if args.ui_port is None else args.ui_port
    async with cluster.open_cluster(
        state, namespace=args.namespace, port=port or None, ui_port=ui_port or None, reuse=False
    ) as server:
        console.say(f"Temporal dev server: {server.address} (namespace {server.namespace!r})")
        console.say(f"Web UI:              {server.ui_url}")
        console.say(f"State:               {state.root} (log: {state.server_log.name})")
        console.say(
            f"Other terminals: trading-agents run automated --symbol AAPL{server.connection_args()}"
        )
        console.say("Press Ctrl-C to stop.")
        await runner.serve_forever()
    return EXIT_OK


async def work(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    # A worker's console is its log: activity failures and retries are worth seeing.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    async with (
        _connect(args, state) as server,
        running_workers(server.client, ledger_path=state.ledger),
    ):
        console.say(f"Worker on {server.describe()}")
        console.say(f"  task queues: {runner.describe_queues()}")
        console.say(f"  ledger: {state.ledger}")
        console.say("Press Ctrl-C to stop.")
        await runner.serve_forever()
    return EXIT_OK


async def approve(
    args: argparse.Namespace, state: cluster.StateDir, console: runner.Console
) -> int:
    async with _connect(args, state) as server:
        await runner.send_approval(
            server.client,
            args.workflow_id,
            approved=not args.reject,
            approver=_approver(args.approver),
            reason=args.reason,
        )
    verb = "Rejected" if args.reject else "Approved"
    console.say(f"{verb} {args.workflow_id}" + (f": {args.reason}" if args.reason else ""))
    return EXIT_OK


async def history(
    args: argparse.Namespace, state: cluster.StateDir, console: runner.Console
) -> int:
    async with _connect(args, state) as server:
        count = await runner.save_history(server.client, args.workflow_id, args.out)
    console.say(f"Saved {count} events of {args.workflow_id} to {args.out}")
    return EXIT_OK


Command = Callable[[argparse.Namespace, cluster.StateDir, runner.Console], Coroutine[Any, Any, int]]

COMMANDS: dict[str, Command] = {
    "run": run,
    "server": serve,
    "worker": work,
    "approve": approve,
    "history": history,
}
