"""The loopback shim is built once per source, safely under racing workers, or a warning says why not."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pytest_temporal_agents import TemporalAgentsWarning
from pytest_temporal_agents.servers import _loopback

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="an LD_PRELOAD shim")

BUILD = "from pytest_temporal_agents.servers._loopback import loopback_library; print(loopback_library())"


def test_racing_processes_build_one_shim_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    racers = [
        subprocess.Popen([sys.executable, "-c", BUILD], stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    paths = {racer.communicate(timeout=120)[0].strip() for racer in racers}
    assert len(paths) == 1
    built = Path(paths.pop())
    assert built.parent == tmp_path / "pytest-temporal-agents"
    assert built.name.startswith("loopback-") and built.stat().st_size > 0
    assert sorted(p.name for p in built.parent.iterdir()) == [built.name]  # no partial files left


def test_no_compiler_warns_with_the_fix_and_starts_unshimmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to compile with
    monkeypatch.setattr(_loopback, "_built", [])
    with pytest.warns(TemporalAgentsWarning, match=r"Install a C compiler \(for example `apt-get install gcc`\)"):
        assert _loopback.loopback_library() is None
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        assert _loopback.loopback_library() is None
    assert again == []  # decided once per process: one warning
