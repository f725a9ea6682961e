"""The versioned trading workflow: release 2's change, and release 1's histories still replaying.

The proof of the versioning pattern: release 1's recorded histories replay against the
current (patched) code, and the same change made without ``workflow.patched`` is reported as
nondeterministic, at the same event, by the pytest items, the command and ``temporal.replay``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from reference_fixtures import AGENT_RETRY, AS_OF, TradingDesk

from pytest_temporal_agents import TemporalHarness, replay_files
from pytest_temporal_agents.__main__ import EXIT_FAILED, EXIT_OK, replay_command
from reference_workflows.broker import PaperBroker
from reference_workflows.models import AccountSnapshot, ExecutionStatus
from reference_workflows.workflows.versioned import (
    ACCOUNT_RECHECK,
    UNPATCHED,
    WORKFLOWS,
    VersionedTradingInput,
    VersionedTradingResult,
    VersionedTradingWorkflow,
)

RELEASE_1 = Path(__file__).resolve().parents[1] / "histories" / "versioned-release-1"
FILLED_RUN = next(RELEASE_1.glob("*AAPL*/*.json"))


async def run(desk: TradingDesk, symbol: str) -> VersionedTradingResult:
    return await desk.run(
        VersionedTradingWorkflow.run, VersionedTradingInput(symbol, as_of=AS_OF, retry=AGENT_RETRY)
    )


async def test_release_2_re_reads_the_account_before_it_buys(desk: TradingDesk) -> None:
    result = await run(desk, "AAPL")
    assert result.status is ExecutionStatus.FILLED
    assert result.steps == ["analysis", "risk", "plan", "account", "execution"]


async def test_release_2_skips_a_buy_the_cash_no_longer_covers(desk: TradingDesk) -> None:
    desk.temporal.mock_activity(PaperBroker.get_account, returns=AccountSnapshot("paper", cash=10.0, reserved=0.0))
    result = await run(desk, "AAPL")
    assert result.status is ExecutionStatus.SKIPPED
    assert result.reason.startswith("the cash (10.00) no longer covers the plan (")
    assert result.steps == ["analysis", "risk", "plan", "account"]


async def test_a_risky_trade_stops_before_the_change(desk: TradingDesk) -> None:
    result = await run(desk, "TSLA")
    assert (result.status, result.steps) == (ExecutionStatus.SKIPPED, ["analysis", "risk"])


async def test_release_1_histories_replay_against_the_patched_code() -> None:
    results = await replay_files([RELEASE_1], WORKFLOWS)
    assert len(results) == 3 and all(r.ok for r in results), [r.report for r in results if not r.ok]


async def test_without_the_patch_the_run_that_reached_the_change_is_nondeterministic() -> None:
    results = {Path(r.source).parent.name: r for r in await replay_files([RELEASE_1], UNPATCHED)}
    # Only the run that got past the plan meets the change; the skipped ones end before it.
    assert {name.rsplit("-", 2)[-2]: r.status for name, r in results.items()} == {
        "AAPL": "nondeterministic",
        "TSLA": "ok",
        "MSFT": "ok",
    }
    [failed] = [r for r in results.values() if not r.ok]
    assert "(ActivityTaskScheduled action_agent(" in failed.headline
    assert "The current code instead scheduled activity get_account(" in failed.report
    assert "versioned.py:" in failed.report  # the line that schedules it


async def test_temporal_replay_shows_the_same(temporal: TemporalHarness) -> None:
    assert (await temporal.replay(FILLED_RUN, workflows=WORKFLOWS)).ok
    unpatched = await temporal.replay(FILLED_RUN, workflows=UNPATCHED)
    assert unpatched.status == "nondeterministic" and "get_account" in unpatched.report


def test_the_command_exits_1_without_the_patch_and_0_with_it() -> None:
    out = io.StringIO()
    spec = "reference_workflows.workflows.versioned"
    assert replay_command([str(RELEASE_1)], [f"{spec}:UNPATCHED"], out=out) == EXIT_FAILED
    assert out.getvalue().strip().splitlines()[-1] == "3 histories: 2 ok, 1 nondeterministic"
    assert "The current code instead scheduled activity get_account(" in out.getvalue()
    assert replay_command([str(RELEASE_1)], [f"{spec}:WORKFLOWS"], out=io.StringIO()) == EXIT_OK


def test_the_pytest_items_fail_without_the_patch_and_pass_with_it(pytester: pytest.Pytester) -> None:
    shutil.copytree(RELEASE_1, pytester.path / "histories")
    ini = (
        "[pytest]\nasyncio_default_fixture_loop_scope = function\ntemporal_replay_paths = histories\n"
        "temporal_workflows = reference_workflows.workflows.versioned:{}\n"
    )
    pytester.makeini(ini.format("UNPATCHED"))
    unpatched = pytester.runpytest("-p", "no:randomly")
    unpatched.assert_outcomes(passed=2, failed=1)
    unpatched.stdout.fnmatch_lines(["*does not replay: nondeterministic at event * (ActivityTaskScheduled action_agent(*"])
    pytester.makeini(ini.format("WORKFLOWS"))
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_the_patch_id_is_what_release_2_histories_record() -> None:
    assert ACCOUNT_RECHECK == "recheck-account-before-execution"  # renaming it breaks open runs
