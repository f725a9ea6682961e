"""The ``trading-agents`` commands that talk to a server: ``run``, ``server``, ``worker``,
``approve`` and ``history``. Each takes the parsed arguments, the state directory and the
console, and returns the exit code; :mod:`.cli` parses and handles errors.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from . import cluster, paper_account, past_runs, progress, runner, status
from .activities import ANALYST_TASK_QUEUE, create_services
from .display import scalar
from .ledger import DEFAULT_ACCOUNT
from .patterns import (
    PATTERNS,
    Pattern,
    PatternError,
    RunOptions,
    get_pattern,
    parse_strategy,
    parse_symbols,
)
from .reasoners import ReasonerChoice, choose_reasoner
from .workers import running_analyst, running_workers

ANALYST_NEEDS_OPENAI = (
    "pattern {pattern!r} needs an OpenAI-compatible model, and the reasoner is {kind}; set "
    "OPENAI_API_KEY, or OPENAI_BASE_URL for a local model server "
    "(e.g. http://localhost:11434/v1), or pass --reasoner openai"
)

EXIT_OK, EXIT_WORKFLOW_FAILED = 0, 1


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


def unattended_patterns() -> list[Pattern]:
    """What ``run all`` runs: every pattern that needs no person (approval, chat) and no
    model (the analyst)."""
    return [p for p in PATTERNS if p.interaction is None and not p.needs_model]


def _chosen_patterns(names: list[str]) -> list[Pattern]:
    chosen: list[Pattern] = []
    for name in names:
        for pattern in (
            unattended_patterns() if name.strip().lower() == "all" else [get_pattern(name)]
        ):
            if pattern not in chosen:
                chosen.append(pattern)
    return chosen


def _plan(pattern: Pattern, options: RunOptions, choice: ReasonerChoice) -> tuple[Pattern, Any]:
    """The pattern's workflow input, built before any server starts (a bad option costs
    nothing)."""
    workflow_input = pattern.build_input(options)
    if pattern.needs_model:
        if choice.kind != "openai" or choice.model is None:
            raise PatternError(ANALYST_NEEDS_OPENAI.format(pattern=pattern.name, kind=choice.kind))
        workflow_input = dataclasses.replace(workflow_input, model=choice.model)
    return pattern, workflow_input


async def run(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    patterns = _chosen_patterns(args.patterns)
    strategy = parse_strategy(args.strategy) if args.strategy else None
    options = RunOptions(parse_symbols(args.symbol), strategy, tuple(args.message))
    # Checked before the reasoner is announced or a server starts.
    for pattern in patterns:
        pattern.build_input(options)
    choice = _reasoner(args, console)
    plans = [_plan(pattern, options, choice) for pattern in patterns]
    paper_account.open_ledger(state.ledger)  # a ledger of another version: refused now
    outcomes: list[tuple[str, int]] = []
    with runner.worker_logs_to(state.worker_log):
        async with _connect(args, state) as server:
            with progress.steps(len(plans), "patterns") as bar:
                for pattern, workflow_input in plans:
                    bar.begin(pattern.name)
                    _fund(state, console)
                    code = await runner.run_pattern(
                        server,
                        pattern,
                        workflow_input,
                        console,
                        options.messages,
                        reasoner=choice.reasoner,
                    )
                    outcomes.append((pattern.name, code))
                    bar.done()
    if len(outcomes) > 1:
        failed = [name for name, code in outcomes if code != EXIT_OK]
        summary = f"{len(outcomes)} patterns: {len(outcomes) - len(failed)} completed"
        console.say(summary + (f", {len(failed)} failed ({', '.join(failed)})" if failed else ""))
    return max(code for _, code in outcomes)


def _fund(state: cluster.StateDir, console: runner.Console) -> None:
    """Every run starts with at least ``RUN_FLOOR`` in cash (see :mod:`.paper_account`)."""
    deposited = paper_account.fund_run(state.ledger)
    if deposited:
        console.say(
            f"Paper account topped up by {scalar(deposited)} to "
            f"{scalar(paper_account.RUN_FLOOR)} in cash"
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


async def runs(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    async with _connect(args, state) as server:
        console.say(await past_runs.list_runs(server.client, args.limit))
    return EXIT_OK


async def show(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    async with _connect(args, state) as server:
        # A server started for this command takes its Web UI along when it exits: no link.
        live = server.origin != "embedded"
        shown = await past_runs.show_run(
            server.client,
            args.workflow_id,
            args.run_id,
            server.link if live else _no_link,
            html=args.html,
        )
    console.say(shown.text)
    if not live:
        console.say("Web UI: none running; `trading-agents ui` keeps one up")
    return EXIT_WORKFLOW_FAILED if shown.failed else EXIT_OK


def _no_link(workflow_id: str, run_id: str | None) -> None:
    return None


async def status_(
    args: argparse.Namespace, state: cluster.StateDir, console: runner.Console
) -> int:
    console.say(await status.report(state, args.address, args.namespace))
    return EXIT_OK


async def account(
    args: argparse.Namespace, state: cluster.StateDir, console: runner.Console
) -> int:
    if args.reset:
        paper_account.reset(state.ledger)
        console.say(
            f"Reset the paper account: {scalar(paper_account.RUN_FLOOR)} in cash, "
            "no positions, no orders"
        )
    ledger = paper_account.open_ledger(state.ledger)
    if args.deposit is not None:
        ledger.deposit(DEFAULT_ACCOUNT, args.deposit)
        console.say(f"Deposited {scalar(args.deposit)}")
    snapshot = ledger.account(DEFAULT_ACCOUNT)
    console.say(
        paper_account.describe(snapshot, ledger.orders(DEFAULT_ACCOUNT), latest=args.orders)
    )
    console.say(f"Ledger: {state.ledger}")
    return EXIT_OK


async def ui(args: argparse.Namespace, state: cluster.StateDir, console: runner.Console) -> int:
    """Keep a Web UI on the state directory's database up until Ctrl-C: the running server's
    if there is one (and a server of its own once that one stops), else a server of its own."""
    while True:
        record = cluster.read_server_record(state)
        if record is not None:
            console.say(
                f"Web UI: {record.ui_url} (the dev server of pid {record.pid}, {record.address})"
            )
            console.say("Press Ctrl-C to stop; if that server stops first, one starts here.")
            while cluster.read_server_record(state) == record:
                await asyncio.sleep(0.5)
            continue
        port = cluster.free_port(cluster.DEFAULT_PORT) if args.port is None else args.port
        ui_port = (
            cluster.free_port(cluster.DEFAULT_UI_PORT) if args.ui_port is None else args.ui_port
        )
        async with cluster.open_cluster(
            state, namespace=args.namespace, port=port or None, ui_port=ui_port or None
        ) as server:
            if server.origin != "embedded":
                continue  # another process started one meanwhile: watch that one
            console.say(
                f"Web UI: {server.ui_url} (dev server {server.address}, state in {state.root})"
            )
            console.say("Past runs: trading-agents runs; press Ctrl-C to stop.")
            await runner.serve_forever()


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
    "runs": runs,
    "show": show,
    "status": status_,
    "account": account,
    "ui": ui,
}
