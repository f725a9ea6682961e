"""Servers listen on loopback only and die with their owner (real servers, real signals)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from process_support import (
    LOOPBACK,
    descendants,
    gone_within,
    listening_addresses,
    processes_mentioning,
    wait_for_file,
)

from pytest_temporal_agents.servers import LOCAL, TIME_SKIPPING, ServerConfig, ServerPool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# --------------------------------------------------------------------------- loopback


def _assert_loopback_only(pid: int) -> None:
    addresses = listening_addresses(pid)
    assert addresses, f"server {pid} listens on nothing"
    assert {host for host, _ in addresses} <= LOOPBACK, addresses


def test_every_server_the_pool_starts_listens_on_loopback_only() -> None:
    pool = ServerPool()

    async def start_all() -> list[int]:
        pids = []
        for config in (ServerConfig(env=TIME_SKIPPING), ServerConfig(env=LOCAL)):
            await pool.get(config)
            launcher = pool.launcher(config)
            assert launcher is not None
            pid = launcher.server_pid()
            assert pid is not None
            pids.append(pid)
        # The dated server, under libfaketime (a start time before now) and the shim.
        await pool.get(ServerConfig(env=TIME_SKIPPING), start_time=datetime(2020, 1, 2, tzinfo=timezone.utc))
        return pids

    try:
        pids = asyncio.run(start_all())
        # Only this process's: under xdist, the other worker's tests start servers too (some
        # with the plain SDK, listening on every interface).
        ours = descendants(os.getpid())
        dated = [pid for pid in processes_mentioning("temporal-test-server") if pid in ours and pid not in pids]
        for pid in pids:
            _assert_loopback_only(pid)
        servers = [pid for pid in dated if listening_addresses(pid)]
        assert servers, "the dated server was not found"
        for pid in servers:
            _assert_loopback_only(pid)
    finally:
        pool.shutdown()
    assert gone_within(pids, 10) == []


# --------------------------------------------------------------------------- owner's death

INNER_TEST = """\
import asyncio
from pytest_temporal_agents.plugin import POOL_KEY

async def test_server_then_sleep(temporal, request):
    pool = request.config.stash[POOL_KEY]
    launcher = pool.launcher(pool.started[0])
    with open({out!r} + ".tmp", "w") as out:
        out.write(f"{{launcher.server_pid()}} {{launcher.pidfile.parent}}\\n")
    import os; os.replace({out!r} + ".tmp", {out!r})
    await asyncio.sleep(120)
"""


@contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """A shell's background job (CI runners, nohup) starts with SIGINT ignored, and a child
    inherits that; a handled SIGINT becomes the default in a child, as in a terminal's job."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _inner_pytest(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int, str]:
    out = tmp_path / "server.txt"
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(out=str(out)))
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    with _sigint_not_ignored():
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", *args],
            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    try:
        pid, directory = wait_for_file(out, 60, "(the inner test did not start)").split()
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, int(pid), directory


@pytest.mark.parametrize(
    ("how", "env"),
    [
        (signal.SIGTERM, TIME_SKIPPING),
        (signal.SIGHUP, TIME_SKIPPING),
        (signal.SIGINT, TIME_SKIPPING),
        (signal.SIGKILL, TIME_SKIPPING),
        (signal.SIGKILL, LOCAL),
    ],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL", "SIGKILL-local"],
)
def test_a_server_dies_with_the_pytest_process_that_started_it(
    tmp_path: Path, how: signal.Signals, env: str
) -> None:
    process, server, directory = _inner_pytest(tmp_path, f"--temporal-env={env}")
    try:
        assert gone_within([server], 0) == [server]  # it runs
        process.send_signal(how)
        process.wait(timeout=30)
        assert gone_within([server], 10) == [], f"server {server} outlived pytest ({how.name})"
        # ... and so does its watchdog (whose command line names the launcher's directory)
        leftovers = processes_mentioning(directory)
        assert gone_within(leftovers, 10) == [], leftovers
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_the_cli_dev_server_dies_with_trading_agents_server(tmp_path: Path, how: signal.Signals) -> None:
    state = tmp_path / "state"
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_workflows.cli", "server", "--state-dir", str(state),
         "--port", "0", "--ui-port", "0"],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_file(state / "temporal-dev-server.pid", 60, "(the dev server did not start)")
        record = state / "server.json"
        pid = int((state / "temporal-dev-server.pid").read_text())
        wait_for_file_json(record)
        _assert_loopback_only(pid)
        process.send_signal(how)
        process.wait(timeout=30)
        assert gone_within([pid], 10) == [], f"dev server {pid} outlived trading-agents ({how.name})"
        assert gone_within(processes_mentioning(str(state)), 10) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_file_json(path: Path) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            json.loads(path.read_text())
            return
        except (OSError, ValueError):
            time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def test_a_replay_helper_dies_with_its_owner(tmp_path: Path) -> None:
    out = tmp_path / "helper.txt"
    owner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""\
            import time
            from pytest_temporal_agents.replay import _process
            _process._HELPER.warm_up()
            open({str(out)!r}, "w").write(f"{{_process._HELPER._proc.pid}}\\n")
            time.sleep(120)
            """)],
        env=_env(),
    )
    try:
        helper = int(wait_for_file(out, 60))
        assert gone_within([helper], 0) == [helper]
        owner.kill()
        owner.wait(timeout=10)
        assert gone_within([helper], 10) == [], f"replay helper {helper} outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_a_launcher_whose_owner_is_already_gone_does_not_start_the_server(tmp_path: Path) -> None:
    from pytest_temporal_agents.servers import write_launcher

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    launcher = write_launcher(Path("/bin/sleep"), tmp_path, owner=gone.pid, log=None)
    done = subprocess.run([str(launcher.path), "30"], capture_output=True, text=True, timeout=10, check=False)
    assert done.returncode != 0
    assert f"owner process {gone.pid} is gone" in done.stderr


def test_a_launcher_stops_its_program_when_the_owner_dies(tmp_path: Path) -> None:
    from pytest_temporal_agents.servers import write_launcher

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        launcher = write_launcher(Path("/bin/sleep"), tmp_path, owner=owner.pid)
        program = subprocess.Popen([str(launcher.path), "120"])
        wait_for_file(launcher.pidfile, 10)
        assert launcher.server_pid() == program.pid  # exec kept the pid
        assert launcher.server_alive()
        owner.kill()
        owner.wait()
        assert program.wait(timeout=10) == -signal.SIGTERM
        assert not launcher.server_alive()
    finally:
        for process in (owner,):
            if process.poll() is None:
                process.kill()
                process.wait()


def _sigint_ignored(status: str) -> bool:
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def test_a_new_session_launcher_ignores_ctrl_c_until_its_program_has_left_the_group(
    tmp_path: Path,
) -> None:
    # A Ctrl-C to the owner's group between the launcher's start and its setsid() used to kill
    # the launcher, and the SDK then waited 5 s for a server that never listened. The script
    # ignores SIGINT from its first command; the program itself gets the default back.
    from pytest_temporal_agents.servers import write_launcher

    program = tmp_path / "program"
    program.write_text('#!/bin/sh\ncat /proc/self/status > "$1"\nps -o sid= -o pgid= -p $$ >> "$1"\n')
    program.chmod(0o755)
    launcher = write_launcher(program, tmp_path / "launcher", log=None, new_session=True)
    lines = launcher.path.read_text().splitlines()
    assert lines.index("trap '' INT") < next(i for i, line in enumerate(lines) if line.startswith("exec "))
    out = tmp_path / "status.txt"
    done = subprocess.run([str(launcher.path), str(out)], timeout=20, check=False)
    assert done.returncode == 0
    status = out.read_text()
    assert not _sigint_ignored(status), "the program must get SIGINT's default disposition back"
    sid, pgid = (int(word) for word in status.splitlines()[-1].split())
    assert sid == pgid != os.getpgrp(), "the program runs in a session of its own"


def test_a_launcher_without_a_new_session_leaves_ctrl_c_alone(tmp_path: Path) -> None:
    from pytest_temporal_agents.servers import write_launcher

    program = tmp_path / "program"
    program.write_text('#!/bin/sh\ncat /proc/self/status > "$1"\n')
    program.chmod(0o755)
    launcher = write_launcher(program, tmp_path / "launcher", log=None)
    assert "trap" not in launcher.path.read_text()
    out = tmp_path / "status.txt"
    assert subprocess.run([str(launcher.path), str(out)], timeout=20, check=False).returncode == 0
    assert not _sigint_ignored(out.read_text())
