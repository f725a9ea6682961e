"""Run a command with a real pseudo-terminal as its stdout and stderr (progress bars are drawn
only on a terminal). A module name unique across the suite: imported from tests/support."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_in_a_terminal(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 120
) -> tuple[int, str]:
    """Run ``command`` on a pseudo-terminal; its exit code and everything it wrote, decoded.

    Fails (AssertionError) when the command writes nothing for ``timeout`` seconds.
    """
    leader, follower = pty.openpty()
    child = subprocess.Popen(list(command), stdout=follower, stderr=follower, cwd=cwd, env=dict(env))
    os.close(follower)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output for {timeout}s: {b''.join(chunks)!r}")
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        code = child.wait(timeout=30)
    return code, b"".join(chunks).decode(errors="replace")
