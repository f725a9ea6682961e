"""``trading-agents``: run the reference workflows on a local Temporal server or any cluster.

    trading-agents list                          the patterns, one line each
    trading-agents run automated --symbol AAPL   embedded server + worker + workflow + progress
    trading-agents server                        the dev server and its Web UI, in the foreground
    trading-agents worker [--address HOST:PORT]  serve every task queue until Ctrl-C
    trading-agents approve WORKFLOW_ID [--reject] [--reason TEXT]
    trading-agents history WORKFLOW_ID --out FILE

This module is argument parsing and exit codes only; ``runner`` does the work and
``patterns`` knows the workflows. Exit codes: 0 done, 1 the workflow failed, 2 a usage or
connection error (one line, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import runner
from .patterns import (
    PATTERNS,
    PatternError,
    RunOptions,
    get_pattern,
    parse_strategy,
    strategy_names,
)

PROG = "trading-agents"
EXIT_OK, EXIT_WORKFLOW_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _address(value: str) -> str:
    """argparse type for HOST:PORT."""
    host, sep, port = value.strip().rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT (for example localhost:7233)")
    return value.strip()


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server")
    group.add_argument(
        "--address",
        type=_address,
        metavar="HOST:PORT",
        help="a running Temporal cluster (default: the state directory's server, "
        "or an embedded dev server)",
    )
    group.add_argument(
        "--namespace", default="default", help="Temporal namespace (default: default)"
    )
    group.add_argument(
        "--ui-url",
        metavar="URL",
        help="the Web UI of the --address cluster, for workflow links (e.g. http://localhost:8233)",
    )
    _state_option(group)


def _state_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"where the embedded server's database, the paper ledger and logs live "
        f"(default: ${runner.STATE_DIR_ENV} or ./{runner.DEFAULT_STATE_DIR})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the reference trading-agent workflows on Temporal, offline.",
        epilog="Start with: trading-agents run automated --symbol AAPL",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run one pattern with live progress",
        description="Start a server if "
        "needed, run a worker, start the pattern's workflow, show its progress and result.",
    )
    run.add_argument(
        "pattern", metavar="PATTERN", help="a pattern name (see `trading-agents list`)"
    )
    run.add_argument(
        "--symbol",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="symbol to trade (default AAPL); repeat or comma-separate for multi-symbol patterns",
    )
    run.add_argument(
        "--strategy",
        metavar="NAME",
        help=f"trading strategy: {', '.join(strategy_names())} (default: the pattern's own)",
    )
    run.add_argument(
        "--message",
        action="append",
        default=[],
        metavar="TEXT",
        help="for chat patterns (long-running): a message to send; repeat for more "
        "(default: type them in the terminal)",
    )
    _connection_options(run)

    commands.add_parser("list", help="list the patterns", description="Every pattern `run` knows.")

    server = commands.add_parser(
        "server",
        help="run the dev server with its Web UI until Ctrl-C",
        description="The embedded Temporal dev server in the foreground, its state kept in "
        "the state directory; other trading-agents commands find and use it.",
    )
    server.add_argument(
        "--namespace", default="default", help="namespace to create (default: default)"
    )
    server.add_argument(
        "--port",
        type=int,
        help=f"gRPC port (default {runner.DEFAULT_PORT} if free, else any; 0: any)",
    )
    server.add_argument(
        "--ui-port",
        type=int,
        help=f"Web UI port (default {runner.DEFAULT_UI_PORT} if free, else any; 0: any)",
    )
    _state_option(server)

    worker = commands.add_parser(
        "worker",
        help="serve every task queue until Ctrl-C",
        description="Workers for every workflow and activity, on all task queues.",
    )
    _connection_options(worker)

    approve = commands.add_parser(
        "approve",
        help="approve (or reject) a waiting approval workflow",
        description="Send the approval signal to a `run approval` workflow.",
    )
    approve.add_argument("workflow_id", metavar="WORKFLOW_ID")
    approve.add_argument("--reject", action="store_true", help="reject instead of approving")
    approve.add_argument("--reason", default="", help="why (recorded in the workflow)")
    approve.add_argument("--approver", default=None, help="who decides (default: your user name)")
    _connection_options(approve)

    history = commands.add_parser(
        "history",
        help="save a workflow's event history as JSON",
        description="Save the event history (the format of `temporal workflow show -o json`), "
        "for replay tests.",
    )
    history.add_argument("workflow_id", metavar="WORKFLOW_ID")
    history.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="JSON file to write"
    )
    _connection_options(history)
    return parser


def format_pattern_list() -> str:
    """The ``list`` output: name, aliases, one-line description."""
    width = max(len(p.name) for p in PATTERNS)
    lines = []
    for pattern in PATTERNS:
        aliases = f" (also: {', '.join(pattern.aliases)})" if pattern.aliases else ""
        lines.append(f"{pattern.name:<{width}}  {pattern.description}{aliases}")
    return "\n".join(lines)


def _approver(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "cli"


async def _dispatch(args: argparse.Namespace, state: runner.StateDir) -> int:
    console = runner.Console()
    if args.command == "run":
        pattern = get_pattern(args.pattern)
        strategy = parse_strategy(args.strategy) if args.strategy else None
        # Built before any server starts, so a bad option costs nothing.
        options = RunOptions(_symbols(args.symbol), strategy, tuple(args.message))
        workflow_input = pattern.build_input(options)
        with runner.worker_logs_to(state.worker_log):
            async with runner.open_cluster(
                state, address=args.address, namespace=args.namespace, ui_url=args.ui_url
            ) as cluster:
                return await runner.run_pattern(
                    cluster, pattern, workflow_input, console, options.messages
                )

    if args.command == "server":
        # Temporal's usual ports when free, so `temporal` CLI commands work unchanged; 0: any.
        port = runner.free_port(runner.DEFAULT_PORT) if args.port is None else args.port
        ui_port = runner.free_port(runner.DEFAULT_UI_PORT) if args.ui_port is None else args.ui_port
        async with runner.open_cluster(
            state, namespace=args.namespace, port=port or None, ui_port=ui_port or None, reuse=False
        ) as cluster:
            console.say(f"Temporal dev server: {cluster.address} (namespace {cluster.namespace!r})")
            console.say(f"Web UI:              {cluster.ui_url}")
            console.say(f"State:               {state.root} (log: {state.server_log.name})")
            console.say(
                "Other terminals: trading-agents run automated --symbol AAPL"
                f"{cluster.connection_args()}"
            )
            console.say("Press Ctrl-C to stop.")
            await runner.serve_forever()

    if args.command == "worker":
        # A worker's console is its log: activity failures and retries are worth seeing.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        async with (
            runner.open_cluster(
                state, address=args.address, namespace=args.namespace, ui_url=args.ui_url
            ) as cluster,
            runner.running_workers(cluster.client, ledger_path=state.ledger),
        ):
            console.say(f"Worker on {cluster.describe()}")
            console.say(f"  task queues: {runner.describe_queues()}")
            console.say(f"  ledger: {state.ledger}")
            console.say("Press Ctrl-C to stop.")
            await runner.serve_forever()

    if args.command == "approve":
        async with runner.open_cluster(
            state, address=args.address, namespace=args.namespace, ui_url=args.ui_url
        ) as cluster:
            await runner.send_approval(
                cluster.client,
                args.workflow_id,
                approved=not args.reject,
                approver=_approver(args.approver),
                reason=args.reason,
            )
        verb = "Rejected" if args.reject else "Approved"
        console.say(f"{verb} {args.workflow_id}" + (f": {args.reason}" if args.reason else ""))
        return EXIT_OK

    if args.command == "history":
        async with runner.open_cluster(
            state, address=args.address, namespace=args.namespace, ui_url=args.ui_url
        ) as cluster:
            count = await runner.save_history(cluster.client, args.workflow_id, args.out)
        console.say(f"Saved {count} events of {args.workflow_id} to {args.out}")
        return EXIT_OK
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse allows no other


def _symbols(values: Sequence[str]) -> tuple[str, ...]:
    from .patterns import parse_symbols

    return parse_symbols(values)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trading-agents`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        print(format_pattern_list())
        return EXIT_OK
    state = runner.resolve_state_dir(getattr(args, "state_dir", None))
    try:
        return asyncio.run(_dispatch(args, state))
    except (runner.CliError, PatternError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.command in ("server", "worker"):
            print("Stopped.", file=sys.stderr)
            return EXIT_OK
        if args.command == "run":
            print(
                "Interrupted; the workflow keeps its state on the server "
                "(`trading-agents worker` resumes it).",
                file=sys.stderr,
            )
        else:
            print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
