"""``trading-agents run all``, ``runs``, ``show``, ``status``, ``ui`` and the exit codes, as a
user meets them: subprocesses of this tree's CLI against one real dev server per module
(``trading-agents server`` on a temporary state directory), Ctrl-C sent as a terminal sends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_workflows import cli
from reference_workflows.commands import unattended_patterns

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"^Started (\S+) workflow (\S+)$", re.MULTILINE)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a POSIX signal here")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reference_workflows.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, whatever is installed


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_env(),
        cwd=ROOT,
    )


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> str:
    """Lines of ``process``'s stdout up to the first that matches ``pattern``."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if re.search(pattern, line):
                return "".join(seen)
    raise AssertionError(f"no line like {pattern!r} in {''.join(seen)!r} (rc {process.poll()})")


def _ctrl_c(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """SIGINT to the process group (what Ctrl-C sends); exit code, rest of stdout, stderr."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


@dataclass(frozen=True)
class Server:
    state: Path
    address: str
    ui_url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("cli-state")
    process = _start("server", "--state-dir", str(state), "--port", "0", "--ui-port", "0")
    try:
        deadline = time.monotonic() + 30
        while not (state / "server.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        record = json.loads((state / "server.json").read_text())
        yield Server(state, record["address"], record["ui_url"])
    finally:
        code, _, err = _ctrl_c(process)
        assert code == 130, err


@pytest.fixture(scope="module")
def run_all(server: Server) -> subprocess.CompletedProcess[str]:
    """Every unattended pattern, one after another, on one paper account."""
    return _run("run", "all", "--state-dir", str(server.state), timeout=300)


def _blocks(out: str) -> dict[str, str]:
    """Each pattern's part of the output, by pattern name."""
    starts = list(STARTED.finditer(out))
    return {
        match.group(1): out[
            match.start() : (starts[i + 1].start() if i + 1 < len(starts) else None)
        ]
        for i, match in enumerate(starts)
    }


def test_run_all_leaves_no_pattern_skipping_its_trade_for_lack_of_cash(
    run_all: subprocess.CompletedProcess[str],
) -> None:
    assert run_all.returncode == 0, run_all.stdout + run_all.stderr
    out = run_all.stdout
    names = [pattern.name for pattern in unattended_patterns()]
    blocks = _blocks(out)
    assert list(blocks) == names
    assert out.rstrip().endswith(f"{len(names)} patterns: {len(names)} completed")
    # Before the top-up, the later patterns sized every trade to zero and skipped it.
    for name, block in blocks.items():
        assert "max position size: 0\n" not in block, name
        assert not re.search(r"^\s+status: skipped$", block, re.MULTILINE), (name, block)
    filled = [name for name, block in blocks.items() if re.search(r"status: filled", block)]
    assert filled[-5:] == names[-5:], filled  # the agent patterns at the end trade too
    # Cash was put back before each run that followed a purchase.
    assert out.count("Paper account topped up by ") >= len(filled) - 1
    # Not a terminal: no progress bar, no control codes.
    assert "\x1b" not in out and run_all.stderr == ""


def test_runs_lists_earlier_runs_newest_first(
    server: Server, run_all: subprocess.CompletedProcess[str]
) -> None:
    started = [match.group(2) for match in STARTED.finditer(run_all.stdout)]
    deadline = time.monotonic() + 15
    while True:  # the server's list (visibility) catches up with closed runs a moment later
        done = _run("runs", "--limit", "200", "--state-dir", str(server.state))
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        ids = [line.split()[4] for line in lines[1:]]
        if set(started) <= set(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert lines[0].split() == ["STARTED", "STATUS", "TOOK", "WORKFLOW", "ID", "TYPE"]
    assert set(started) <= set(ids)
    assert ids.index(started[-1]) < ids.index(started[0])  # newest first
    assert re.search(rf"{started[-1]} +AIAgentWorkflow$", done.stdout, re.MULTILINE)
    limited = _run("runs", "--limit", "2", "--state-dir", str(server.state))
    assert len(limited.stdout.splitlines()) == 3


def test_show_prints_a_past_run_s_result_and_timeline(
    server: Server, run_all: subprocess.CompletedProcess[str]
) -> None:
    workflow_id = _blocks(run_all.stdout)["automated"].split()[3]
    done = _run("show", workflow_id, "--state-dir", str(server.state))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"{workflow_id} (AutomatedTradingWorkflow): completed\n")
    assert f"  Web UI:  {server.ui_url}/namespaces/default/workflows/{workflow_id}/" in out
    assert "Result:\n  AutomatedTradingResult:\n    symbol: AAPL\n" in out
    assert re.search(r"^Timeline \(\d+ events\):$", out, re.MULTILINE)
    assert re.search(r"ActivityTaskCompleted\s+analysis_agent", out)
    assert "WorkflowExecutionCompleted" in out


def test_show_html_writes_the_report_view_of_the_run(
    server: Server, run_all: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    workflow_id = _blocks(run_all.stdout)["automated"].split()[3]
    target = tmp_path / "runs" / "automated.html"  # a missing directory is created
    done = _run("show", workflow_id, "--html", str(target), "--state-dir", str(server.state))
    assert done.returncode == 0, done.stderr
    assert f"HTML report: {target}" in done.stdout
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "AutomatedTradingWorkflow" in page
    assert "analysis_agent" in page and workflow_id in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # self-contained


def test_show_html_to_an_unwritable_path_is_one_line_and_exit_2(
    server: Server, run_all: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    workflow_id = _blocks(run_all.stdout)["automated"].split()[3]
    (tmp_path / "a-file").write_text("not a directory")
    target = tmp_path / "a-file" / "report.html"
    done = _run("show", workflow_id, "--html", str(target), "--state-dir", str(server.state))
    assert done.returncode == 2, done.stdout + done.stderr
    # Caught when the arguments are parsed, before the run is fetched.
    assert (
        f"argument --html: {str(target)!r} is under {str(tmp_path / 'a-file')!r}, which is a file"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_show_of_a_run_that_did_not_complete_exits_1(server: Server) -> None:
    from temporalio.client import Client

    from reference_workflows.workflows.sequential import (
        SequentialTradingInput,
        SequentialTradingWorkflow,
    )

    async def start_and_terminate() -> str:
        client = await Client.connect(server.address)
        handle = await client.start_workflow(
            SequentialTradingWorkflow.run,
            SequentialTradingInput("MSFT"),
            id=f"terminated-{os.getpid()}",
            task_queue="no-worker-polls-here",
        )
        await handle.terminate(reason="stopped by the test")
        return handle.id

    workflow_id = asyncio.run(start_and_terminate())
    done = _run("show", workflow_id, "--state-dir", str(server.state))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{workflow_id} (SequentialTradingWorkflow): terminated\n" in done.stdout
    assert "Failure:\n  " in done.stdout and "stopped by the test" in done.stdout
    assert "WorkflowExecutionTerminated" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such-run"], "no workflow 'no-such-run' in namespace 'default' on this server"),
        (
            ["no-such-run", "--run-id", "01a2424a-254d-7c83-a7b9-5e3d97ffb9b3"],
            "no workflow 'no-such-run'",
        ),
    ],
)
def test_show_of_an_unknown_run_is_one_line_and_exit_2(
    server: Server, args: list[str], message: str
) -> None:
    done = _run("show", *args, "--state-dir", str(server.state))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert "`trading-agents runs` lists the runs it has" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_reports_server_workers_and_account(
    server: Server, run_all: subprocess.CompletedProcess[str]
) -> None:
    done = _run("status", "--state-dir", str(server.state))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Server:  {server.address}, dev server of pid ")
    assert server.ui_url in lines[0]
    assert lines[1].startswith("Workers on trading-agents: ")
    assert lines[2].startswith("Workers on market-data-agents: ")
    assert re.fullmatch(
        r"Account: cash [\d,.]+, reserved 0\.00, 1 position, \d+ orders \(.*\)", lines[3]
    )


def test_status_without_a_server_says_so_and_starts_none(tmp_path: Path) -> None:
    done = _run("status", "--state-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        (
            f"Server:  not running on {tmp_path} (`trading-agents ui` or `trading-agents "
            "server` starts one; `run` starts one for its own length)"
        ),
        "Account: no ledger yet (the first run opens it with 100,000.00)",
    ]
    assert not (tmp_path / "temporal.sqlite3").exists()


def test_ui_shows_the_running_server_s_web_ui_until_ctrl_c(server: Server) -> None:
    ui = _start("ui", "--state-dir", str(server.state))
    out = _read_until(ui, r"^Web UI: ")
    assert f"Web UI: {server.ui_url} (the dev server of pid " in out
    code, _, err = _ctrl_c(ui)
    assert (code, err) == (130, "Stopped.\n")


def test_ui_starts_a_server_when_none_runs_and_keeps_it_until_ctrl_c(tmp_path: Path) -> None:
    ui = _start("ui", "--state-dir", str(tmp_path), "--port", "0", "--ui-port", "0")
    out = _read_until(ui, r"^Web UI: ")
    record = json.loads((tmp_path / "server.json").read_text())
    assert record["pid"] == ui.pid
    assert f"Web UI: {record['ui_url']} (dev server {record['address']}" in out
    time.sleep(1.5)
    assert ui.poll() is None  # it stays up
    code, _, err = _ctrl_c(ui)
    assert (code, err) == (130, "Stopped.\n")
    assert not (tmp_path / "server.json").exists()


def test_ctrl_c_during_a_run_exits_130_without_a_traceback(server: Server) -> None:
    run = _start("run", "approval", "--state-dir", str(server.state))
    _read_until(run, r"^Waiting for a decision")
    code, _, err = _ctrl_c(run)
    assert code == 130, err
    assert "Interrupted; the workflow keeps its state on the server" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["runs", "--limit", "0"], "argument --limit: '0' is not above zero"),
        (["show"], "the following arguments are required: WORKFLOW_ID"),
        (["run"], "the following arguments are required: PATTERN"),
        (["status", "--address", "nowhere"], "'nowhere' is not HOST:PORT"),
        (["ui", "--port", "x"], "argument --port: 'x' is not a port: give 1 to 65535, or 0 for any free one"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
