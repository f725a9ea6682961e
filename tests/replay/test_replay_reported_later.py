"""A passed test's teardown replay is checked while the next test runs, and reported on the
test that ran the workflow, with the report it always had (harness/_report_later.py)."""

from __future__ import annotations

import re
from textwrap import dedent

import pytest
from pytester_support import run_expecting
from test_replay_check import WORKFLOWS

#: Every report the nested run logs, in order, and what each test saw logged when it began.
CONFTEST = dedent(
    """
    LOGGED = []
    SEEN = {}


    def pytest_runtest_logreport(report):
        LOGGED.append((report.nodeid.split("::")[-1], report.when, report.outcome))


    def pytest_runtest_setup(item):
        SEEN[item.name] = list(LOGGED)
    """
)

TESTS = dedent(
    """
    from replay_check_workflows import Clocked, Rounds, quote

    async def test_clocked(temporal):
        await temporal.run(Clocked.run, activities=[quote])

    async def test_next(temporal):
        assert await temporal.run(Rounds.run, 1, activities=[quote]) == 1

    def test_plain():
        pass

    async def test_last(temporal):
        assert await temporal.run(Rounds.run, 1, activities=[quote]) == 1
    """
)

IN_ORDER = [
    (name, when, "failed" if (name, when) == ("test_clocked", "teardown") else "passed")
    for name in ("test_clocked", "test_next", "test_plain", "test_last")
    for when in ("setup", "call", "teardown")
]


@pytest.fixture
def later(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(replay_check_workflows=WORKFLOWS, test_inner=TESTS)
    project.makeconftest(CONFTEST)
    return project


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.HookRecorder, object]:
    recorder = pytester.inline_run(*args)
    conftest = next(plugin for plugin in recorder._pluginmanager.get_plugins() if hasattr(plugin, "SEEN"))
    return recorder, conftest


def _teardown_text(recorder: pytest.HookRecorder, name: str) -> str:
    [report] = [
        r for r in recorder.getreports("pytest_runtest_logreport") if r.when == "teardown" and r.nodeid.endswith(name)
    ]
    return report.longreprtext


def test_the_replay_of_a_passed_test_is_checked_while_the_next_one_runs(later: pytest.Pytester) -> None:
    recorder, conftest = _run(later)
    # Reports come in pytest's order, the replay failure at its own test's teardown ...
    assert conftest.LOGGED == IN_ORDER  # type: ignore[attr-defined]
    # ... but test_next started before test_clocked's reports were logged: its replay ran meanwhile.
    assert conftest.SEEN["test_next"] == []  # type: ignore[attr-defined]
    # A test without `temporal` starts after the held reports are out (it gets no overlap).
    assert conftest.SEEN["test_plain"] == IN_ORDER[:6]  # type: ignore[attr-defined]
    assert "(Clocked) does not replay: nondeterministic at event 5" in _teardown_text(recorder, "test_clocked")


def test_the_report_is_the_one_the_test_gets_when_nothing_is_held(later: pytest.Pytester) -> None:
    held, _ = _run(later)
    # With output capture off the plugin holds nothing back: each test waits for its replay.
    waited, conftest = _run(later, "-s")
    assert conftest.SEEN["test_next"] == IN_ORDER[:3]  # type: ignore[attr-defined]
    assert conftest.LOGGED == IN_ORDER  # type: ignore[attr-defined]

    def shape(text: str) -> str:  # workflow ids and clock readings differ run to run
        return re.sub(r"[0-9a-f]{8}|\d+", "N", text)

    assert shape(_teardown_text(held, "test_clocked")) == shape(_teardown_text(waited, "test_clocked"))
    assert "Timeline around event 5" in _teardown_text(held, "test_clocked")


def test_exitfirst_still_reports_the_test_held_when_the_run_stops(later: pytest.Pytester) -> None:
    # test_clocked's failure is logged while test_next runs; -x then stops the run after
    # test_next, whose own reports were held: they are logged, not lost.
    result = run_expecting(later, "-x", "-p", "no:cacheprovider", passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_clocked*", "*(Clocked) does not replay*"])
    assert "test_plain" not in result.stdout.str()


def test_under_xdist_the_failure_names_its_own_test(later: pytest.Pytester) -> None:
    # xdist workers hold nothing back (a worker's reports must be the running test's).
    result = later.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_clocked*", "*", "*(Clocked) does not replay*"])


def test_a_test_body_that_failed_waits_for_its_replay(later: pytest.Pytester) -> None:
    later.makepyfile(
        test_inner=dedent(
            """
            from replay_check_workflows import Clocked, quote

            async def test_fails(temporal):
                await temporal.run(Clocked.run, activities=[quote])
                assert 1 == 2, "the real failure"

            async def test_after(temporal):
                pass
            """
        )
    )
    recorder, conftest = _run(later)
    # Nothing held: the failed test's reports, teardown included, were out before the next began.
    assert [r[:2] for r in conftest.SEEN["test_after"]] == [  # type: ignore[attr-defined]
        ("test_fails", "setup"),
        ("test_fails", "call"),
        ("test_fails", "teardown"),
    ]
    assert "does not replay" in _teardown_text(recorder, "test_fails")


#: Each test puts its own copy of `orders.py` first on sys.path; the second test's
#: `import orders` still finds the first copy in sys.modules.
RELEASES = dedent(
    '''
    import pytest

    WORKFLOW = """
    from datetime import timedelta
    from temporalio import activity, workflow

    @activity.defn
    async def charge(amount: int) -> str:
        return f"charged {amount}"

    @workflow.defn
    class Order:
        @workflow.run
        async def run(self, amount: int) -> str:
            return await workflow.execute_activity(charge, amount, start_to_close_timeout=timedelta(seconds=5))
    """

    @pytest.fixture
    def release(tmp_path, monkeypatch):
        (tmp_path / "orders.py").write_text(WORKFLOW)
        monkeypatch.syspath_prepend(str(tmp_path))
        import orders

        return orders
    '''
)


@pytest.mark.parametrize("after", ["async def test_after(temporal):\n    pass", "def test_after():\n    pass"])
def test_a_module_each_test_puts_on_sys_path_itself_still_replays(project: pytest.Pytester, after: str) -> None:
    # The helper interpreter finds the second test's `orders` where the second test put it,
    # not the file the workflow ran from, and refuses; the replay in this process must then
    # run at the test's own teardown, before monkeypatch takes its directory off sys.path
    # (one test later, it failed with ModuleNotFoundError: No module named 'orders').
    project.makeconftest(RELEASES)
    project.makepyfile(
        test_inner=dedent(
            """
            async def test_first(release, temporal):
                assert await temporal.run(release.Order.run, 1, activities=[release.charge]) == "charged 1"

            async def test_second(release, temporal):
                assert await temporal.run(release.Order.run, 2, activities=[release.charge]) == "charged 2"
            """
        )
        + "\n\n"
        + after
        + "\n"
    )
    run_expecting(project, "-p", "no:cacheprovider", passed=3)
