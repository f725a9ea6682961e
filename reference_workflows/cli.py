"""``trading-agents``: run the reference workflows on a local Temporal server or any cluster.

    trading-agents list                          the patterns, one line each
    trading-agents run automated --symbol AAPL   embedded server + worker + workflow + progress
        [--reasoner {auto,rule-based,openai,anthropic}] [--model NAME]
    trading-agents run all                       every unattended pattern, one after another
    trading-agents server                        the dev server and its Web UI, in the foreground
    trading-agents ui                            the Web UI (found or started) until Ctrl-C
    trading-agents worker [--address HOST:PORT]  serve every task queue until Ctrl-C
    trading-agents approve WORKFLOW_ID [--reject] [--reason TEXT]
    trading-agents history WORKFLOW_ID --out FILE
    trading-agents runs | show WORKFLOW_ID       earlier runs; one run's result and timeline
    trading-agents status | account [--reset] [--deposit AMOUNT]

This module is argument parsing and exit codes only; ``commands`` and ``runner`` do the work,
``cluster`` finds the server and ``patterns`` knows the workflows. It imports them (and so
temporalio) only inside ``main``, so that a Ctrl-C during start-up is handled like any other.
Exit codes: 0 done, 1 the workflow failed, 2 a usage or connection error (one line, no
traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from . import arguments

PROG = "trading-agents"
EXIT_OK, EXIT_WORKFLOW_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SERVER_FAILED = (
    "the Temporal server failed a request ({error.status.name}: {error.message}); if it has "
    "stopped, workflows keep their state in it: start it again and run `trading-agents worker`"
)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    """The options that say which server a command talks to (the worker's only ones)."""
    group = parser.add_argument_group("server")
    group.add_argument(
        "--address",
        type=arguments.address,
        metavar="HOST:PORT",
        help="a running Temporal cluster (default: the state directory's server, "
        "or an embedded dev server)",
    )
    group.add_argument(
        "--namespace",
        default="default",
        type=arguments.text("a namespace", "default"),
        help="Temporal namespace (default: default)",
    )
    group.add_argument(
        "--ui-url",
        type=arguments.url,
        metavar="URL",
        help="the Web UI of the --address cluster, for workflow links (e.g. http://localhost:8233)",
    )
    _state_option(group)


def _state_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    from . import cluster

    parser.add_argument(
        "--state-dir",
        type=arguments.state_dir,
        metavar="DIR",
        help=f"where the embedded server's database, the paper ledger and logs live "
        f"(default: ${cluster.STATE_DIR_ENV} or ./{cluster.DEFAULT_STATE_DIR})",
    )


def _repeated(
    parser: argparse.ArgumentParser,
    flag: str,
    metavar: str,
    help_text: str,
    kind: Callable[[str], str],
) -> None:
    """An option that may be given again and again; its values collect in a list."""
    parser.add_argument(
        flag, action="append", default=[], type=kind, metavar=metavar, help=help_text
    )


def _port(parser: argparse.ArgumentParser, flag: str, what: str, preferred: int) -> None:
    """A port for the embedded server to listen on."""
    parser.add_argument(
        flag,
        type=arguments.port,
        help=f"{what} port (default {preferred} if free, else any; 0: any)",
    )


def _run_options(run: argparse.ArgumentParser) -> None:
    from .patterns import strategy_names

    run.add_argument(
        "patterns",
        nargs="+",
        metavar="PATTERN",
        help="a pattern name (see `trading-agents list`); several run one after another, "
        "`all` runs every pattern that needs no person and no model",
    )
    _repeated(
        run,
        "--symbol",
        "SYMBOL",
        "symbol to trade (default AAPL); repeat or comma-separate for multi-symbol patterns",
        arguments.symbols,
    )
    run.add_argument(
        "--strategy",
        metavar="NAME",
        type=arguments.text("a strategy", "momentum"),
        help=f"trading strategy: {', '.join(strategy_names())} (default: the pattern's own)",
    )
    _repeated(
        run,
        "--message",
        "TEXT",
        "for chat patterns (long-running): a message to send; repeat for more "
        "(default: type them in the terminal)",
        arguments.text("a message", "'How is AAPL doing?'"),
    )
    _reasoner_options(run)
    _connection_options(run)


def _reasoner_options(parser: argparse.ArgumentParser) -> None:
    """Which reasoner the agents' activities use (they run in this process's worker)."""
    from .reasoners import MODEL_ENV, REASONER_CHOICES

    group = parser.add_argument_group("reasoner")
    group.add_argument(
        "--reasoner",
        default="auto",
        choices=REASONER_CHOICES,
        help="who makes the agents' decisions; auto (default): openai when OPENAI_API_KEY or "
        "OPENAI_BASE_URL is set (a local model server works), anthropic when "
        "ANTHROPIC_API_KEY is, else rule-based",
    )
    group.add_argument(
        "--model",
        metavar="NAME",
        type=arguments.text("a model name", "gpt-4o-mini"),
        help=f"the model a model reasoner asks (default: ${MODEL_ENV}, else gpt-4o-mini or "
        "claude-sonnet-4-5)",
    )


def _worker_options(worker: argparse.ArgumentParser) -> None:
    _reasoner_options(worker)
    _connection_options(worker)


def _no_options(parser: argparse.ArgumentParser) -> None:
    """For a command that takes none (`list`)."""


def _server_options(server: argparse.ArgumentParser) -> None:
    from . import cluster

    server.add_argument(
        "--namespace",
        default="default",
        type=arguments.text("a namespace", "default"),
        help="namespace to create (default: default)",
    )
    _port(server, "--port", "gRPC", cluster.DEFAULT_PORT)
    _port(server, "--ui-port", "Web UI", cluster.DEFAULT_UI_PORT)
    _state_option(server)


def _approve_options(approve: argparse.ArgumentParser) -> None:
    approve.add_argument(
        "workflow_id",
        metavar="WORKFLOW_ID",
        type=arguments.text("a workflow id", "automated-trading-1a2b3c"),
    )
    approve.add_argument("--reject", action="store_true", help="reject instead of approving")
    approve.add_argument("--reason", default="", help="why (recorded in the workflow)")
    approve.add_argument(
        "--approver",
        default=None,
        type=arguments.text("a name", "alice"),
        help="who decides (default: your user name)",
    )
    _connection_options(approve)


def _history_options(history: argparse.ArgumentParser) -> None:
    history.add_argument(
        "workflow_id",
        metavar="WORKFLOW_ID",
        type=arguments.text("a workflow id", "automated-trading-1a2b3c"),
    )
    history.add_argument(
        "--out",
        required=True,
        type=arguments.output_file("history.json"),
        metavar="FILE",
        help="JSON file to write",
    )
    _connection_options(history)


def _runs_options(runs: argparse.ArgumentParser) -> None:
    runs.add_argument(
        "--limit",
        type=arguments.positive(int, arguments.MOST_LISTED),
        default=20,
        metavar="N",
        help="show the latest N runs (default 20)",
    )
    _connection_options(runs)


def _show_options(show: argparse.ArgumentParser) -> None:
    show.add_argument(
        "workflow_id",
        metavar="WORKFLOW_ID",
        type=arguments.text("a workflow id", "automated-trading-1a2b3c"),
    )
    show.add_argument(
        "--run-id",
        metavar="RUN_ID",
        type=arguments.text("a run id", "the one `trading-agents runs` lists"),
        help="one run of the workflow (default: its latest)",
    )
    show.add_argument(
        "--html",
        metavar="PATH",
        type=lambda value: str(arguments.output_file("report.html")(value)),
        help="also write the run as a self-contained HTML report (the plugin's report view)",
    )
    _connection_options(show)


def _status_options(status: argparse.ArgumentParser) -> None:
    group = status.add_argument_group("server")
    group.add_argument(
        "--address", type=arguments.address, metavar="HOST:PORT", help="a cluster to check instead"
    )
    group.add_argument(
        "--namespace",
        default="default",
        type=arguments.text("a namespace", "default"),
        help="Temporal namespace (default: default)",
    )
    _state_option(group)


def _account_options(account: argparse.ArgumentParser) -> None:
    account.add_argument(
        "--reset",
        action="store_true",
        help="start afresh: starting cash, no positions, no orders (first, before --deposit)",
    )
    account.add_argument(
        "--deposit",
        type=arguments.positive(float, arguments.MOST_DEPOSIT),
        metavar="AMOUNT",
        help="add AMOUNT to the cash",
    )
    account.add_argument(
        "--orders",
        type=arguments.count,
        default=10,
        metavar="N",
        help="list the latest N orders (default 10; 0: counts only)",
    )
    _state_option(account)


_COMMANDS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = {
    "run": (
        "run one pattern with live progress",
        (
            "Start a server if needed, run a worker, start the pattern's workflow, show its "
            "progress and result."
        ),
        _run_options,
    ),
    "list": ("list the patterns", "Every pattern `run` knows.", _no_options),
    "server": (
        "run the dev server with its Web UI until Ctrl-C",
        (
            "The embedded Temporal dev server in the foreground, its state kept in the state "
            "directory; other trading-agents commands find and use it."
        ),
        _server_options,
    ),
    "worker": (
        "serve every task queue until Ctrl-C",
        "Workers for every workflow and activity, on all task queues.",
        _worker_options,
    ),
    "approve": (
        "approve (or reject) a waiting approval workflow",
        "Send the approval signal to a `run approval` workflow.",
        _approve_options,
    ),
    "history": (
        "save a workflow's event history as JSON",
        (
            "Save the event history (the format of `temporal workflow show -o json`), for "
            "replay tests."
        ),
        _history_options,
    ),
    "runs": (
        "list earlier runs, newest first",
        "The runs the server keeps in the state directory's database (or --address's).",
        _runs_options,
    ),
    "show": (
        "a past run's result and timeline",
        "One run's status, result (or failure) and event timeline; exits 1 if it failed.",
        _show_options,
    ),
    "status": (
        "server, workers and paper account at a glance",
        (
            "Is a server up, do workers poll its task queues, what does the account hold. "
            "Starts nothing."
        ),
        _status_options,
    ),
    "account": (
        "the paper account: cash, positions, orders",
        "Show the paper account; --reset starts it afresh, --deposit adds cash.",
        _account_options,
    ),
    "ui": (
        "keep a Web UI up until Ctrl-C",
        (
            "The running dev server's Web UI, or a dev server of its own on the state "
            "directory's database, until Ctrl-C."
        ),
        _server_options,
    ),
}
"""Every command: its line in the command list, the description atop its --help, its options."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the reference trading-agent workflows on Temporal, offline.",
        epilog="Start with: trading-agents run automated --symbol AAPL",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, description, add_options) in _COMMANDS.items():
        add_options(commands.add_parser(name, help=summary, description=description))
    return parser


def format_pattern_list() -> str:
    """The ``list`` output: name, aliases, one-line description."""
    from .patterns import PATTERNS

    width = max(len(p.name) for p in PATTERNS)
    lines = []
    for pattern in PATTERNS:
        aliases = f" (also: {', '.join(pattern.aliases)})" if pattern.aliases else ""
        lines.append(f"{pattern.name:<{width}}  {pattern.description}{aliases}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trading-agents`` console script; returns the exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before a command began (Python was still importing): nothing to stop.
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    with _ctrl_c_exits_at_once():
        # Nothing runs yet: imports and argument parsing only.
        import asyncio

        from temporalio.service import RPCError

        from . import cluster, runner
        from .commands import COMMANDS
        from .patterns import PatternError
        from .reasoners import ExtraMissingError, ReasonerChoiceError

        args = build_parser().parse_args(argv)
        if args.command == "list":
            print(format_pattern_list())
            return EXIT_OK
        state = cluster.resolve_state_dir(getattr(args, "state_dir", None))
        if args.command in ("run", "worker"):
            # Every workflow module, the analyst's Agents SDK included (seconds of imports),
            # is imported here, before the event loop: inside it, asyncio turns Ctrl-C into a
            # cancellation that waits until the running code yields, which delayed the exit
            # by seconds.
            from .workflows import ALL_WORKFLOWS  # noqa: F401
    try:
        return asyncio.run(COMMANDS[args.command](args, state, runner.Console()))
    except (cluster.CliError, PatternError, ReasonerChoiceError, ExtraMissingError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RPCError as error:
        # The server refused or vanished mid-command (say, the `run` that embedded it ended).
        print(f"{PROG}: error: {SERVER_FAILED.format(error=error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.command in ("server", "worker", "ui"):
            # Ctrl-C is how these end, but it is still an interruption: 130, as a shell reports
            # any program that SIGINT stopped, so that scripts can tell it from a clean exit.
            print("Stopped.", file=sys.stderr)
            return EXIT_INTERRUPTED
        if args.command == "run":
            print(
                "Interrupted; the workflow keeps its state on the server "
                "(`trading-agents worker` resumes it).",
                file=sys.stderr,
            )
        else:
            print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's exit-time flush of
        # stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_WORKFLOW_FAILED


@contextmanager
def _ctrl_c_exits_at_once() -> Iterator[None]:
    """A Ctrl-C in the block ends the process at once, with exit code 130.

    For the start of a command, while nothing has been started that would need stopping.
    A KeyboardInterrupt raised inside an import can surface as another error: pydantic's
    compiled core, building a model's schema, wraps it in a ``SchemaError`` and the import
    fails with a traceback. So the signal does not raise here; it ends the process.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (main() called from a thread)
        return

    def leave(signum: int, frame: object) -> None:
        print("Interrupted.", file=sys.stderr)
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def console_main() -> None:
    """The ``trading-agents`` console script: :func:`main`, then leave without finalising.

    temporalio's core runtime keeps native threads that may call into Python while the
    interpreter finalises, which aborts the process now and then ("Fatal Python error:
    PyGILState_Release", exit -6; temporalio/sdk-python#300) after the command is done. Every
    command has stopped its servers and workers and closed the ledger by the time
    :func:`main` returns, so the exit code is final: flush and end the process there.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_main()
