"""The determinism replay of one test, checked while the next test runs.

The teardown replay check costs a test about a third of its time (``benchmarks/
overhead.py``), and nearly all of it is waiting: the helper interpreter replays the
histories while the test process has nothing to do. So the plugin runs a test whose
``temporal`` fixture may defer its replay (the test passed, every other teardown check
passed, the replay went to the helper) like this:

1. its setup, call and teardown run as usual, but pytest's reports are held back
   (``runtestprotocol(log=False)``); the fixture left the replay running
   (``TemporalHarness.verify(defer_replay=True)``);
2. the next test runs while the helper replays;
3. then the held test's replay answer is collected: a failure turns its teardown report
   into the one the fixture would have made (``pytest.fail`` with the same text, at
   teardown), and its reports are logged, in order, before the next test's.

Every report still belongs to the test that ran the workflow and reads as before; the only
visible difference is that ``-x`` stops one test later. A test waits for its own replay,
as before (while the held one's still overlaps it), when it is the last test of a run or is
followed by one that does not use ``temporal`` (holding it would only move its check past
its fixtures' teardown: the held test is reported before that test runs). Not done at all
for a ``@given`` test (its progress line is drawn
after pytest's text for the test), under ``--pdb`` (the debugger opens where
the check fails), with output capture off (``-s``) or live logging (their output would show
under the wrong test), next to pytest-rerunfailures (it runs the protocol itself), and in
xdist workers: a worker sends each report as one of the test running now (it asserts so),
and a worker that crashed during the next test would lose the held test's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..replay import ReplayCheck

FIXTURE = "temporal"


def report_later_allowed(config: pytest.Config) -> bool:
    """False when holding a test's reports back would change what the user sees, or where
    another plugin runs the protocol or ties each report to the test running now."""
    if hasattr(config, "workerinput"):  # an xdist worker
        return False
    if config.getoption("usepdb", False) or config.getoption("capture", "fd") == "no":
        return False
    if config.getoption("log_cli_level", None) or config.getini("log_cli"):
        return False
    return not config.pluginmanager.hasplugin("rerunfailures")


@dataclass
class _Held:
    item: pytest.Item
    reports: list[pytest.TestReport]
    check: ReplayCheck


class ReportLater:
    """Runs the test protocol of ``temporal`` tests so that a replay is collected one test
    later (see the module docstring). One per session (per xdist worker)."""

    def __init__(self) -> None:
        self._held: _Held | None = None
        self._running: pytest.Item | None = None
        self._check: ReplayCheck | None = None

    def may_defer(self, item: pytest.Item) -> bool:
        """Whether ``item``'s fixture may leave its replay running (:meth:`hold` it then)."""
        return item is self._running

    def hold(self, item: pytest.Item, check: ReplayCheck) -> None:
        """The replay check ``item``'s fixture left running, collected after the next test."""
        if item is not self._running:  # never lost: a caller that may not defer waits here
            raise RuntimeError(f"{item.nodeid} may not defer its replay check")
        self._check = check

    def run(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        """``pytest_runtest_protocol``: True when done here, None for pytest's own."""
        # A @given test draws its campaign's progress line after pytest's text for the test
        # (_campaign.py): that text must be out first. Its examples dwarf one replay anyway.
        given = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        if FIXTURE not in getattr(item, "fixturenames", ()) or given:
            self.flush()  # reported before this test's own reports
            return None
        # Private, as pytest-rerunfailures uses it: pytest's protocol with the logging left out.
        from _pytest.runner import runtestprotocol

        # The last test, or one before a test without `temporal`, waits for its own replay
        # (held, it would be collected before that test runs: no overlap, only a check moved
        # past the test's own fixtures' teardown); it still overlaps the held one's.
        last = nextitem is None or FIXTURE not in getattr(nextitem, "fixturenames", ())
        self._running, self._check = (None if last else item), None
        try:
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
        except BaseException:
            self.flush()
            raise
        finally:
            self._running = None
        self.flush()
        check, self._check = self._check, None
        if check is not None:
            self._held = _Held(item, reports, check)
        else:
            _log(item, reports)
        return True

    def flush(self) -> None:
        """Wait for the held test's replay, put its outcome in its reports, log them."""
        held, self._held = self._held, None
        if held is None:
            return
        problems = held.check.wait()
        if problems:
            _fail_teardown(held.item, held.reports, "\n".join(problems))
        _log(held.item, held.reports)


def _fail_teardown(item: pytest.Item, reports: list[pytest.TestReport], text: str) -> None:
    """Make the teardown report the fixture's ``pytest.fail(text, pytrace=False)`` would."""
    call = pytest.CallInfo.from_call(lambda: pytest.fail(text, pytrace=False), when="teardown")
    failed = pytest.TestReport.from_item_and_call(item, call)
    for report in reports:
        if report.when == "teardown":
            report.outcome = "failed"
            report.longrepr = failed.longrepr


def _log(item: pytest.Item, reports: list[pytest.TestReport]) -> None:
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


__all__ = ["ReportLater", "report_later_allowed"]
