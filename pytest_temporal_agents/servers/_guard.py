"""The server launcher's body: run as ``python -S _guard.py OPTIONS -- BINARY ARGS...``.

It runs before the server, in the process that becomes the server (it ends with
``os.execve``, so the process id the Temporal SDK knows stays the server's):

1. ``--new-session``: ``setsid()``, so a terminal's Ctrl-C reaches the owner alone. It
   comes first, whatever the option order: until then the launcher (which ignores SIGINT
   meanwhile) is in the owner's process group; afterwards SIGINT gets its default again;
2. ``--log FILE``: the server's stdout and stderr go to FILE (the owner shows its tail
   when the server dies);
3. ``--pidfile FILE``: the server's process id, for the owner's liveness checks;
4. ``--owner PID``: a watchdog process (double-forked, so nobody has to reap it) waits for
   the owner to die and then stops the server: SIGTERM, SIGKILL after a short grace. It
   exits as soon as either the server or the owner is gone. The OS gives nothing better:
   the parent-death signal follows the *thread* that spawned the server, and the SDK
   spawns from threads of its own;
5. ``--env NAME=VALUE`` (repeatable): set in the server's environment; ``LD_PRELOAD`` is
   prepended to an existing value, colon-separated.

Standard library only, and no site packages (``-S``): it starts in a few milliseconds.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

GRACE_SECONDS = 2.0
POLL_SECONDS = 0.1


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (no procfs: what kill(0) says)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except (OSError, OverflowError):
        return False  # not a process id at all
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _wait_any(pids: list[int], timeout: float | None = None) -> None:
    """Until one of ``pids`` is gone (or ``timeout`` passes)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    fds = [fd for fd in (_pidfd(pid) for pid in pids) if fd is not None]
    try:
        while all(process_alive(pid) for pid in pids):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            if len(fds) == len(pids):
                # pidfds become readable when their process exits (also as a zombie).
                select.select(fds, [], [], left)
            else:
                time.sleep(POLL_SECONDS if left is None else min(POLL_SECONDS, left))
    finally:
        for fd in fds:
            os.close(fd)


def _watch(owner: int, server: int) -> None:
    for number in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(number, signal.SIG_IGN)
    _wait_any([owner, server])
    if not process_alive(server):
        return
    try:
        os.kill(server, signal.SIGTERM)
    except OSError:
        return
    _wait_any([server], GRACE_SECONDS)
    if process_alive(server):
        try:
            os.kill(server, signal.SIGKILL)
        except OSError:
            pass


def _start_watchdog(owner: int, server: int) -> None:
    first = os.fork()
    if first:
        os.waitpid(first, 0)
        return
    try:
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, 1 << 16)
            try:
                _watch(owner, server)
            finally:
                os._exit(0)
    finally:
        os._exit(0)


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    env = dict(os.environ)
    owner: int | None = None
    if "--new-session" in options:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        options = [option for option in options if option != "--new-session"]
    i = 0
    while i < len(options):
        name = options[i]
        value = options[i + 1]
        i += 2
        if name == "--owner":
            owner = int(value)
        elif name == "--log":
            fd = os.open(value, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        elif name == "--pidfile":
            with open(value, "w") as pidfile:
                pidfile.write(f"{os.getpid()}\n")
        elif name == "--env":
            key, _, val = value.partition("=")
            if key == "LD_PRELOAD" and env.get(key):
                val = f"{val}:{env[key]}"
            env[key] = val
    if owner is not None:
        if not process_alive(owner):
            sys.exit(f"pytest-temporal-agents launcher: owner process {owner} is gone; not starting")
        _start_watchdog(owner, os.getpid())
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
