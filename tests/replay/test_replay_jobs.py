"""``replay -j N``: the same output and exit status as ``-j 1``, a dead worker reported,
Ctrl-C exits 130 with no worker left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent

import pytest
from process_support import gone_within, process_group
from replay_support import FIXTURE_DIR, HISTORIES

from pytest_temporal_agents.replay._cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, _jobs
from pytest_temporal_agents.replay._jobs import MOST_JOBS, batches, cpu_count

ROOT = Path(__file__).resolve().parents[2]

#: A workflows module for the tests: each process that imports it leaves its pid in
#: $REPLAY_PIDS; a worker process that finds the file $DIE_ONCE claims it and kills itself.
WORKFLOWS_MODULE = dedent(
    """
    import multiprocessing, os, signal
    from pathlib import Path
    from replay_fixture_workflows import UNPATCHED, V1

    if os.environ.get("REPLAY_PIDS"):
        (Path(os.environ["REPLAY_PIDS"]) / str(os.getpid())).write_text("")
    if multiprocessing.parent_process() is not None and os.environ.get("DIE_ONCE"):
        try:
            Path(os.environ["DIE_ONCE"]).unlink()
        except FileNotFoundError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _copies(directory: Path, times: int) -> int:
    """``times`` copies of each recorded history under distinct names; how many files."""
    directory.mkdir(parents=True)
    sources = sorted(HISTORIES.rglob("*.json"))
    for n in range(times):
        for source in sources:
            shutil.copy(source, directory / f"{n:03d}-{'-'.join(source.relative_to(HISTORIES).parts)}")
    return times * len(sources)


def _replay(tmp_path: Path, *args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen[str]:
    (tmp_path / "jobs_workflows.py").write_text(WORKFLOWS_MODULE, encoding="utf-8")
    paths = os.pathsep.join([str(ROOT), str(FIXTURE_DIR)])
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_temporal_agents", "replay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # `python -m` puts it on sys.path: jobs_workflows is importable
        env={**os.environ, "PYTHONPATH": paths, **(env or {})},
        **popen,  # type: ignore[call-overload]
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_two_jobs_print_and_write_exactly_what_one_job_does(tmp_path: Path) -> None:
    histories = tmp_path / "h"
    _copies(histories, 3)  # 12 histories: against UNPATCHED, half replay and half do not
    for name, text in {"empty.json": "", "list.json": "[1, 2]"}.items():
        (histories / name).write_text(text, encoding="utf-8")
    pricer = next(HISTORIES.rglob("Pricer-1.json")).read_text(encoding="utf-8")
    bogus = pricer.replace('"encoding": "anNvbi9wbGFpbg=="', '"encoding": "Ym9ndXM="', 1)
    (histories / "bad-payload.json").write_text(bogus, encoding="utf-8")
    runs = {}
    for jobs in ("1", "2"):
        args = ["h", "--workflows", "jobs_workflows:UNPATCHED", "-j", jobs, "--junit-xml", f"j{jobs}.xml"]
        runs[jobs] = _finish(_replay(tmp_path, *args))
    status, out, err = runs["1"]
    assert status == EXIT_BAD_INPUT, out + err
    assert out.strip().splitlines()[-2:] == ["15 histories: 6 ok, 6 nondeterministic, 1 error, 2 invalid", "JUnit XML: j1.xml"]
    assert runs["2"][0] == status
    assert runs["2"][1] == out.replace("JUnit XML: j1.xml", "JUnit XML: j2.xml")
    assert (tmp_path / "j2.xml").read_text() == (tmp_path / "j1.xml").read_text()
    assert "Traceback" not in runs["2"][2], runs["2"][2]


def test_a_worker_that_dies_costs_its_batch_only_and_is_reported(tmp_path: Path) -> None:
    count = _copies(tmp_path / "h", 3)  # 12 histories in batches of 2: one batch is lost
    (tmp_path / "die-once").write_text("")
    status, out, err = _finish(
        _replay(tmp_path, "h", "--workflows", "jobs_workflows:V1", "-j", "2", env={"DIE_ONCE": str(tmp_path / "die-once")})
    )
    assert status == EXIT_FAILED, out + err
    assert not (tmp_path / "die-once").exists()  # a worker claimed it
    lines = out.splitlines()
    lost = [line for line in lines if line.startswith("ERROR ")]
    assert len(lost) == len(batches(count, 2)[0]) == 2, out
    for line in lost:
        assert "not replayed: the process replaying its batch of 2 was killed by SIGKILL (pid " in line
    assert f"{count} histories: {count - 2} ok, 2 error" in out
    assert "replay these histories with -j 1 to find the one" in out
    assert "Traceback" not in out + err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_exits_130_and_leaves_no_process_behind(tmp_path: Path, jobs: str) -> None:
    _copies(tmp_path / "h", 100)  # 400 histories: seconds of replay, interrupted at its start
    pids = tmp_path / "pids"
    pids.mkdir()
    process = _replay(
        tmp_path, "h", "--workflows", "jobs_workflows:V1", "-j", jobs, env={"REPLAY_PIDS": str(pids)}, start_new_session=True
    )
    try:
        expected = 1 + (int(jobs) if jobs != "1" else 0)  # the command, and each worker
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < expected and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        started = [int(p.name) for p in pids.iterdir()]
        assert len(started) == expected, started
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
        status, out, err = _finish(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert status == EXIT_INTERRUPTED, out + err
    assert "interrupted" in err and "Traceback" not in err + out, err
    assert gone_within(started, 5.0) == []
    # Nor anything else of its process group (multiprocessing's resource tracker included).
    deadline = time.monotonic() + 5.0
    while process_group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_group(process.pid) == []


@pytest.mark.parametrize(("value", "jobs"), [("1", 1), ("2", 2), ("64", 64), ("0", min(cpu_count(), MOST_JOBS)), ("00", min(cpu_count(), MOST_JOBS)), ("auto", min(cpu_count(), MOST_JOBS))])
def test_jobs_values(value: str, jobs: int) -> None:
    assert _jobs(value) == jobs


def test_batches_cover_every_item_once_in_order() -> None:
    for count in (1, 7, 12, 400, 1000):
        for jobs in (1, 2, 3, 8):
            ranges = batches(count, jobs)
            assert [i for r in ranges for i in r] == list(range(count))
            assert max(len(r) for r in ranges) <= 50
            assert len(ranges) >= min(count, 3 * jobs)  # about four each: every process gets some


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner's loop_factory is 3.11+")
def test_ctrl_c_while_the_event_loop_is_built_leaves_nothing_to_complain(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen in CI (test_ctrl_c_exits_130_and_leaves_no_process_behind[1]): the SIGINT came
    # while asyncio.run built its loop. The half-built loop's __del__ printed a traceback at
    # exit, and the coroutine that never ran a "never awaited" warning.
    import asyncio
    import gc
    import signal
    import warnings

    from pytest_temporal_agents.replay import _cli

    build = asyncio.new_event_loop
    built: list[asyncio.AbstractEventLoop] = []

    def interrupted_build() -> asyncio.AbstractEventLoop:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C, mid-construction
        built.append(build())
        return built[-1]

    monkeypatch.setattr(asyncio, "new_event_loop", interrupted_build)
    monkeypatch.setattr(asyncio.events, "new_event_loop", interrupted_build)  # asyncio.run's
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    gc.collect()  # earlier tests' garbage, complaining of its own
    complaints: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", complaints.append)
    # Python's own Ctrl-C handler, as the command has it (an xdist worker has another).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(KeyboardInterrupt):
                _cli.run_interruptible(work)
            gc.collect()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ran == [] and len(built) == 1 and built[0].is_closed()
    assert complaints == []
    assert [str(w.message) for w in caught if "never awaited" in str(w.message) or "loop" in str(w.message)] == []

    monkeypatch.setattr(asyncio, "new_event_loop", build)
    monkeypatch.setattr(asyncio.events, "new_event_loop", build)
    assert _cli.run_interruptible(work) is None and ran == [True]  # no Ctrl-C: it runs
