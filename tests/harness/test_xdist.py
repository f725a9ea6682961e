"""pytest-xdist at full width: ``-n auto`` and ``--dist loadgroup``, one server per worker
process, no port clash, and recorded histories from every worker, none lost."""

from __future__ import annotations

import json
import re
from pathlib import Path
from textwrap import dedent

import pytest

LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio", "-p", "xdist")

#: Eight tests; each notes its worker and its server's address.
MANY_TESTS = dedent(
    """
    import os
    import pytest
    from workflows import Greeting, GreetingWorkflow, compose_greeting

    @pytest.mark.parametrize("n", range(8))
    async def test_n(temporal, n):
        assert await temporal.run(GreetingWorkflow.run, Greeting(str(n)), activities=[compose_greeting]) == f"Hello, {n}!"
        target = temporal.client.service_client.config.target_host
        with open(f"ran-{n}.txt", "w") as out:
            out.write(f"{os.environ['PYTEST_XDIST_WORKER']} {target}")
    """
)

#: The same in four xdist groups: n and n + 4 share one.
GROUPED_TESTS = MANY_TESTS.replace(
    '@pytest.mark.parametrize("n", range(8))',
    '@pytest.mark.parametrize("n", [pytest.param(n, marks=pytest.mark.xdist_group(f"group-{n % 4}")) for n in range(8)])',
)


def runs(path: Path) -> dict[int, tuple[str, str]]:
    """Test number -> (worker, server address), from the files the tests wrote."""
    found = {}
    for file in path.glob("ran-*.txt"):
        worker, target = file.read_text().split()
        found[int(file.stem.split("-")[1])] = (worker, target)
    return found


def one_server_per_worker(ran: dict[int, tuple[str, str]]) -> dict[str, str]:
    servers: dict[str, set[str]] = {}
    for worker, target in ran.values():
        servers.setdefault(worker, set()).add(target)
    assert all(len(targets) == 1 for targets in servers.values()), servers
    addresses = [next(iter(targets)) for targets in servers.values()]
    assert len(set(addresses)) == len(addresses), f"two workers shared a server: {servers}"
    return {worker: next(iter(targets)) for worker, targets in servers.items()}


def assert_one_report_of_every_test(report: Path) -> None:
    """The workers' reports merged into one file by the controller: all eight tests, once each."""
    page = report.read_text()
    for n in range(8):
        assert page.count(f"test_many.py::test_n[{n}]") >= 1, n
    assert page.count("GreetingWorkflow") >= 8


@pytest.fixture
def lean(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return inner


def test_n_auto_records_every_workers_histories(lean: pytest.Pytester) -> None:
    lean.makepyfile(test_many=MANY_TESTS)
    result = lean.runpytest_subprocess(
        *LEAN_SUBPROCESS, "-n", "auto", "--temporal-record-histories=histories", "--temporal-report=report.html"
    )
    result.assert_outcomes(passed=8)
    assert_one_report_of_every_test(lean.path / "report.html")
    ran = runs(lean.path)
    assert sorted(ran) == list(range(8))
    workers = one_server_per_worker(ran)
    started = re.search(r"(\d+) workers \[8 items\]", result.stdout.str())
    assert started is not None, result.stdout.str()
    assert len(workers) == int(started.group(1)), workers  # 2 on this project's 2-core machines
    recorded = sorted((lean.path / "histories").glob("*/*.json"))
    assert len(recorded) == 8, recorded  # one per test, from whichever worker ran it
    names = {json.loads(path.read_text())["workflowId"] for path in recorded}
    assert len(names) == 8
    assert {path.parent.name for path in recorded} == {f"test_many.py--test_n-{n}" for n in range(8)}


def test_loadgroup_keeps_a_group_on_one_worker(lean: pytest.Pytester) -> None:
    lean.makepyfile(test_many=GROUPED_TESTS)
    result = lean.runpytest_subprocess(
        *LEAN_SUBPROCESS,
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "--temporal-record-histories=histories",
        "--temporal-report=report.html",
    )
    result.assert_outcomes(passed=8)
    assert_one_report_of_every_test(lean.path / "report.html")
    ran = runs(lean.path)
    one_server_per_worker(ran)
    for group in range(4):
        assert ran[group][0] == ran[group + 4][0], f"group-{group} ran on two workers: {ran}"
    assert len(list((lean.path / "histories").glob("*/*.json"))) == 8


def test_dev_servers_per_worker_do_not_clash(lean: pytest.Pytester) -> None:
    lean.makepyfile(test_many=MANY_TESTS)
    result = lean.runpytest_subprocess(*LEAN_SUBPROCESS, "-n", "2", "--temporal-env=local")
    result.assert_outcomes(passed=8)
    workers = one_server_per_worker(runs(lean.path))
    assert sorted(workers) == ["gw0", "gw1"]
