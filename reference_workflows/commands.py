"""The ``trading-agents`` commands that talk to a server: ``run``, ``server``, ``worker``,
``approve`` and ``history``. Each takes the parsed arguments, the state directory and the
console, and returns the exit code; :mod:`.cli` parses and handles errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from . import cluster, runner
from .activities import ANALYST_TASK_QUEUE, create_services
from .patterns import PatternError, RunOptions, get_pattern, parse_strategy, parse_symbols
from .reasoners import ReasonerChoice, choose_reasoner
from .workers import running_analyst, running_workers

ANALYST_NEEDS_OPENAI = (
    "pattern {pattern!r} needs an OpenAI-compatible model, and the reasoner is {kind}; set "
    "OPENAI_API_KEY, or OPENAI_BASE_URL for a local model server "
    "(e.g. http://localhost:11434/v1), or pass --reasoner openai"
)

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


def _reasoner(args: argparse.Namespace, console: runner.Console) -> ReasonerChoice:
    """The reasoner ``--reasoner`` and ``--model`` pick, announced (model and URL, no key)."""
    choice = choose_reasoner(args.reasoner, model=args.model)
    console.say(f"Reasoner: {choice.description}")
    return choice


async def run(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    pattern = get_pattern(args.pattern)
    strategy = parse_strategy(args.strategy) if args.strategy else None
    options = RunOptions(parse_symbols(args.symbol), strategy, tuple(args.message))
    # Built before any server starts, so a bad option costs nothing.
    workflow_input = pattern.build_input(options)
    choice = _reasoner(args, console)
    if pattern.needs_model:
        if choice.kind != "openai" or choice.model is None:
            raise PatternError(ANALYST_NEEDS_OPENAI.format(pattern=pattern.name, kind=choice.kind))
        workflow_input = dataclasses.replace(workflow_input, model=choice.model)
    with runner.worker_logs_to(state.worker_log):
        async with _connect(args, state) as server:
            return await runner.run_pattern(
                server, pattern, workflow_input, console, options.messages, reasoner=choice.reasoner
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
    choice = _reasoner(args, console)
    state.ledger.parent.mkdir(parents=True, exist_ok=True)
    services = create_services(ledger_path=state.ledger, reasoner=choice.reasoner)
    async with (
        _connect(args, state) as server,
        running_workers(server.client, ledger_path=state.ledger, activities=services.activities()),
        AsyncExitStack() as stack,
    ):
        queues = runner.describe_queues()
        if choice.kind == "openai" and _agents_sdk_installed():
            # The analyst needs an OpenAI-compatible model: serve its queue when there is one.
            await stack.enter_async_context(running_analyst(server.client, services.agents))
            queues += f", {ANALYST_TASK_QUEUE} (the analyst)"
        console.say(f"Worker on {server.describe()}")
        console.say(f"  task queues: {queues}")
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


def _agents_sdk_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("agents") is not None


Command = Callable[[argparse.Namespace, cluster.StateDir, runner.Console], Coroutine[Any, Any, int]]

COMMANDS: dict[str, Command] = {
    "run": run,
    "server": serve,
    "worker": work,
    "approve": approve,
    "history": history,
}
