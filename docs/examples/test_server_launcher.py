"""A server launched through write_launcher dies with its owner and keeps a log of its own."""

import socket
import subprocess
import sys
import time
from pathlib import Path

from pytest_temporal_agents.servers import find_binary, write_launcher


def _listens(port: int) -> bool:
    with socket.socket() as client:
        return client.connect_ex(("127.0.0.1", port)) == 0


def test_a_guarded_server_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    launcher = write_launcher(find_binary("time-skipping"), tmp_path, owner=owner.pid, loopback=True)
    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(launcher.path), str(port)])  # what the SDK does with the path
    try:
        while not _listens(port):
            assert server.poll() is None, launcher.log_tail()
            time.sleep(0.05)
        owner.kill()  # kill -9: the owner has no chance to stop anything itself
        assert server.wait(timeout=10) != 0  # the watchdog stopped the server
        assert launcher.server_pid() == server.pid  # exec kept the process id
        assert launcher.log is not None and launcher.log.exists()
    finally:
        for process in (owner, server):
            if process.poll() is None:
                process.kill()
                process.wait()
