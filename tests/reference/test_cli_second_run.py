"""A second ``trading-agents`` command on one state directory: it reuses the server that this
state directory's earlier command started, or refuses with a message that names the process
and how to stop it. It never starts a second dev server on one SQLite file and never takes a
process it did not start (a foreign listener on the port) for its server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_temporal_agents.servers import find_binary
from reference_workflows import cluster

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; POSIX locks")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reference_workflows.cli", *args]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, whatever is installed
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("TEMPORAL_PROFILE", None)
    return env


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=ROOT,
    )


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[cluster.StateDir, int]]:
    """``trading-agents server`` on a fresh state directory: (state, its process id)."""
    state = cluster.StateDir(tmp_path.resolve(), explicit=True)
    process = subprocess.Popen(
        _command("server", "--state-dir", str(state.root), "--port", "0", "--ui-port", "0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not state.server_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        yield state, process.pid
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()


def test_a_second_run_uses_the_server_the_first_started(
    serving: tuple[cluster.StateDir, int],
) -> None:
    state, owner = serving
    record = json.loads(state.server_file.read_text())
    servers = cluster.servers_on_database(state.temporal_db)
    assert len(servers) == 1
    run = _run("run", "automated", "--symbol", "AAPL", "--state-dir", str(state.root))
    assert run.returncode == 0, run.stderr
    assert record["address"] in run.stdout
    assert cluster.servers_on_database(state.temporal_db) == servers  # no second server
    assert json.loads(state.server_file.read_text())["pid"] == owner


def test_a_second_server_command_refuses_naming_the_first(
    serving: tuple[cluster.StateDir, int],
) -> None:
    state, owner = serving
    second = _run("server", "--state-dir", str(state.root), "--port", "0", "--ui-port", "0")
    assert second.returncode == 2
    assert "Traceback" not in second.stderr
    assert "is already running at" in second.stderr and f"(pid {owner})" in second.stderr
    assert len(cluster.servers_on_database(state.temporal_db)) == 1


def test_a_foreign_listener_on_the_port_is_refused_not_adopted(tmp_path: Path) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        for command in ("server", "ui"):  # `run` has no --port: it always takes a free one
            done = _run(command, "--state-dir", str(tmp_path), "--port", str(port))
            assert done.returncode == 2, done.stdout + done.stderr
            assert done.stderr == (
                f"trading-agents: error: port {port} on 127.0.0.1 is in use by a process this "
                "state directory did not start (trading-agents never takes over a server it "
                "did not start); pass another --port (0: any free port), or stop that process\n"
            )
            assert not (tmp_path / "server.json").exists()
            assert not (tmp_path / "temporal.sqlite3").exists()


def test_a_server_that_outlived_its_run_is_named_not_joined_by_a_second(tmp_path: Path) -> None:
    # What a killed (SIGKILL) run leaves: a dev server on the state directory's database whose
    # owner is gone, so the lock is free and server.json names a dead process.
    state = cluster.StateDir(tmp_path.resolve(), explicit=True)
    port, ui_port = cluster.free_port(), cluster.free_port()
    orphan = subprocess.Popen(
        [
            str(find_binary("local")),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(state.temporal_db),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while cluster.free_port(port) == port:
            assert orphan.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        state.server_file.write_text(
            json.dumps(
                {
                    "address": f"127.0.0.1:{port}",
                    "namespace": "default",
                    "ui_url": f"http://127.0.0.1:{ui_port}",
                    "pid": int(dead.stdout),
                }
            )
        )
        for command in (("run", "automated", "--symbol", "AAPL"), ("server", "--port", "0")):
            done = _run(*command, "--state-dir", str(state.root))
            assert done.returncode == 2, done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            assert (
                f"a Temporal dev server (pid {orphan.pid}) already runs on {state.temporal_db}"
                in done.stderr
            )
            assert f"`kill {orphan.pid}`" in done.stderr
            assert cluster.servers_on_database(state.temporal_db) == [orphan.pid]
    finally:
        orphan.terminate()
        orphan.wait(timeout=20)
