"""Replay from a cluster: real workflows on a real dev server, selected by a visibility query,
replayed against a changed version of their code that breaks one of them.

The command runs as users run it (``python -m pytest_temporal_agents replay --query ...``,
in a subprocess); the pytest items run in a nested pytest subprocess.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from textwrap import dedent
from xml.etree import ElementTree

import pytest

from pytest_temporal_agents import TemporalHarness

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")
KEY = "tak-replay-secret-0123456789"

RELEASE_1 = dedent(
    """
    from datetime import timedelta
    from temporalio import activity, workflow

    @activity.defn
    async def charge(amount: int) -> str:
        return f"charged {amount}"

    @activity.defn
    async def check_limits(amount: int) -> bool:
        return True

    @workflow.defn(name="Order")
    class Order:
        @workflow.run
        async def run(self, amount: int) -> str:
            return await workflow.execute_activity(charge, amount, start_to_close_timeout=timedelta(seconds=10))

    WORKFLOWS = [Order]
    """
)

#: Release 2 checks limits first on large orders, without workflow.patched: runs that took
#: that path under release 1 no longer replay; the small ones still do.
RELEASE_2 = RELEASE_1.replace(
    "        return await workflow.execute_activity(charge",
    "        if amount > 100:\n"
    "            await workflow.execute_activity(check_limits, amount, start_to_close_timeout=timedelta(seconds=10))\n"
    "        return await workflow.execute_activity(charge",
)


@pytest.fixture
def releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``orders_v1.py`` and ``orders_v2.py`` in a directory on sys.path (and the cwd).

    Tests request it before ``temporal``, whose teardown replays the runs: the modules must
    still be importable then.
    """
    assert RELEASE_2 != RELEASE_1
    (tmp_path / "orders_v1.py").write_text(RELEASE_1)
    (tmp_path / "orders_v2.py").write_text(RELEASE_2)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def run_orders(temporal: TemporalHarness, amounts: list[int]) -> str:
    """Run one Order per amount with release 1; return a query that selects exactly them."""
    import orders_v1

    for amount in amounts:
        assert await temporal.run(orders_v1.Order.run, amount, activities=[orders_v1.charge]) == f"charged {amount}"
    query = f"WorkflowType='Order' AND TaskQueue='{temporal.task_queue}'"
    for _ in range(100):  # visibility lags the run by a moment
        if (await temporal.client.count_workflows(query)).count == len(amounts):
            return query
        await asyncio.sleep(0.1)
    raise AssertionError(f"visibility never listed the {len(amounts)} workflows of {query}")


def replay(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, str(cwd)]), **(env or {})}
    if "TEMPORAL_ADDRESS" not in (env or {}):
        environ.pop("TEMPORAL_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest_temporal_agents", "replay", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.mark.temporal(env="local")
async def test_replay_by_query_finds_the_run_a_change_breaks(releases: Path, temporal: TemporalHarness) -> None:
    query = await run_orders(temporal, [50, 60, 500])
    address = temporal.client.service_client.config.target_host
    done = await asyncio.to_thread(
        replay, "--address", address, "--namespace", "default", "--query", query, "--limit", "10",
        "--workflows", "orders_v2:WORKFLOWS", "-j", "2", "--junit-xml", "out/replay.xml", "--save", "fetched",
        cwd=releases,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"fetching from {address} (namespace 'default', no TLS; from --address): {query}" in done.stdout
    assert "saved 3 histories under fetched" in done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith(("OK", "NONDETERMINISTIC"))]
    assert [line.split()[0] for line in lines].count("OK") == 2
    (broken,) = [line for line in lines if line.startswith("NONDETERMINISTIC")]
    assert "nondeterministic at event 5" in broken
    assert "The current code instead scheduled activity check_limits" in done.stdout
    assert "3 histories: 2 ok, 1 nondeterministic" in done.stdout

    suite = ElementTree.parse(releases / "out" / "replay.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    cases = suite.findall("testcase")
    assert {case.get("classname") for case in cases} == {"Order"}
    (failed,) = [case for case in cases if case.find("failure") is not None]
    failure = failed.find("failure")
    assert failure is not None and "check_limits" in (failure.text or "")
    assert failed.get("name") == broken.split()[1]

    # What was fetched is a corpus of recorded histories: it replays against the code that ran it.
    saved = sorted((releases / "fetched" / "Order").glob("*.json"))
    assert len(saved) == 3
    again = await asyncio.to_thread(replay, "fetched", "--workflows", "orders_v1:WORKFLOWS", cwd=releases)
    assert again.returncode == 0, again.stdout
    assert "3 histories: 3 ok" in again.stdout


@pytest.mark.temporal(env="local")
async def test_bad_input_exits_2_with_the_setting_and_the_fix(releases: Path, temporal: TemporalHarness) -> None:
    query = await run_orders(temporal, [10])
    address = temporal.client.service_client.config.target_host
    key = {"TEMPORAL_API_KEY": KEY, "TEMPORAL_TLS": "false"}
    cases = {
        "unreachable": (["--address", "127.0.0.1:1", "--query", query], "Could not connect to the Temporal cluster at '127.0.0.1:1'"),
        "namespace": (["--address", address, "--namespace", "nope", "--query", query], "Namespace 'nope' does not exist"),
        "bad query": (["--address", address, "--query", "WorkflowType = = 'x'"], "rejected the visibility query"),
        "nothing": (["--address", address, "--query", "WorkflowType='NoSuchType'"], "selects no workflow on"),
        "no address": (["--query", query], "neither --address, TEMPORAL_ADDRESS nor the environment"),
    }
    runs = await asyncio.gather(
        *(
            asyncio.to_thread(replay, *args, "--workflows", "orders_v2:WORKFLOWS", cwd=releases, env=key)
            for args, _ in cases.values()
        )
    )
    for (name, (_, expected)), done in zip(cases.items(), runs):
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert expected in done.stdout, (name, done.stdout)
        assert "Fix" in done.stdout or "Check" in done.stdout, (name, done.stdout)
        assert KEY not in done.stdout + done.stderr, name


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args, message in (
        (["--workflows", "x:y"], "give history PATHs to replay, or --query"),
        (["some/dir", "--query", "q", "--workflows", "x:y"], "give history PATHs or --query, not both"),
        (["dir", "--save", "out", "--workflows", "x:y"], "--save, --address and --profile go with --query"),
        (["--query", "q", "-j", "none", "--workflows", "x:y"], "'none' is not a number of processes; give 1 to 64"),
    ):
        done = replay(*args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


@pytest.mark.temporal(env="local")
async def test_the_query_as_pytest_items(
    releases: Path, temporal: TemporalHarness, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = await run_orders(temporal, [50, 500])
    address = temporal.client.service_client.config.target_host
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([PACKAGE_ROOT, str(releases)]))
    pytester.makeini(
        dedent(
            f"""\
            [pytest]
            temporal_replay_query = {query}
            temporal_workflows = orders_v2:WORKFLOWS
            """
        )
    )
    result = pytester.runpytest_subprocess(*LEAN_SUBPROCESS, f"--temporal-env={address}", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "temporal_replay_query/Order/*/* PASSED*",
            "temporal_replay_query/Order/*/* FAILED*",
            "*The current code instead scheduled activity check_limits*",
        ]
    )
    nothing = pytester.runpytest_subprocess(
        *LEAN_SUBPROCESS, f"--temporal-env={address}", "-o", "temporal_replay_query=WorkflowType='NoSuchType'"
    )
    nothing.assert_outcomes(failed=1)
    nothing.stdout.fnmatch_lines(["*The visibility query \"WorkflowType='NoSuchType'\" selects no workflow on*",
                                  "*Fix the ini option temporal_replay_query*"])  # fmt: skip
    local = pytester.runpytest_subprocess(*LEAN_SUBPROCESS)
    local.assert_outcomes(failed=1)
    local.stdout.fnmatch_lines(["*temporal_replay_query needs an external cluster*time-skipping server*"])
