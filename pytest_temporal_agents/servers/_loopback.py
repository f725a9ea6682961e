"""The loopback shim: a preloaded ``bind()`` that turns the wildcard address into loopback.

The Java test server (``temporal-test-server``) takes only a port and listens on every
interface. Preloading ``_loopback.c``, compiled on first use into a per-user cache keyed
by the source's hash, makes it listen on 127.0.0.1 (``::ffff:127.0.0.1`` on its dual-stack
socket). No C compiler: a :class:`TemporalAgentsWarning` names the fix and the server
starts as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

from .._errors import TemporalAgentsWarning

_SOURCE = Path(__file__).with_name("_loopback.c")

NO_COMPILER = """\
pytest-temporal-agents: the Temporal test server listens on every network interface, \
not only 127.0.0.1, because the loopback shim could not be built: {problem}. \
Install a C compiler (for example `apt-get install gcc`) and the next run builds it."""

_lock = threading.Lock()
_built: list[Path | None] = []


def cache_directory() -> Path:
    """Where built shims live: ``$XDG_CACHE_HOME/pytest-temporal-agents`` (or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-temporal-agents"


def loopback_library() -> Path | None:
    """The built shim (building it on first use), or None with a warning if it cannot be."""
    if not sys.platform.startswith("linux"):
        return None
    with _lock:
        if not _built:
            _built.append(_build())
        return _built[0]


def _build() -> Path | None:
    source = _SOURCE.read_bytes()
    target = cache_directory() / f"loopback-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if target.exists():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        _unbuilt("no C compiler (cc, gcc or clang) was found on PATH")
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Build beside the target, then rename: xdist workers racing each see a whole file.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".loopback-", suffix=".so")
        os.close(handle)
        try:
            done = subprocess.run(
                [compiler, "-shared", "-fPIC", "-O2", "-o", partial, str(_SOURCE), "-ldl"],
                capture_output=True, text=True, timeout=120, check=False,
            )
            if done.returncode != 0:
                _unbuilt(f"{compiler} failed: {done.stderr.strip()[:500]}")
                return None
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    except (OSError, subprocess.SubprocessError) as err:
        _unbuilt(f"{type(err).__name__}: {err}")
        return None
    return target


def _unbuilt(problem: str) -> None:
    warnings.warn(TemporalAgentsWarning(NO_COMPILER.format(problem=problem)), stacklevel=4)
