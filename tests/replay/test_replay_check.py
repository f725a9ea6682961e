"""The automatic replay check at teardown, its switches, and the harness's replay methods."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pytester_support import INI, run_expecting

#: Deterministic workflows (a parent, its child, a continue-as-new) and one that is not:
#: its activity id comes from the wall clock, read in a helper the sandbox lets through.
WORKFLOWS = dedent(
    """
    import time
    from datetime import timedelta

    from temporalio import activity, workflow

    T = timedelta(seconds=10)


    @activity.defn
    async def quote(symbol: str) -> float:
        return 100.0 + len(symbol)


    def clock_ref() -> str:
        with workflow.unsafe.sandbox_unrestricted():
            return f"quote-{time.time_ns()}"


    @workflow.defn
    class Child:
        @workflow.run
        async def run(self, symbol: str, clocked: bool) -> float:
            ref = clock_ref() if clocked else None
            return await workflow.execute_activity(quote, symbol, activity_id=ref, start_to_close_timeout=T)


    @workflow.defn
    class Parent:
        @workflow.run
        async def run(self, symbols: list[str], clocked_child: bool) -> float:
            total = 0.0
            for symbol in sorted(symbols):
                total += await workflow.execute_child_workflow(
                    Child.run, args=[symbol, clocked_child], id=f"{workflow.info().workflow_id}-{symbol}"
                )
            return total


    @workflow.defn
    class Rounds:
        @workflow.run
        async def run(self, rounds: int) -> int:
            await workflow.execute_activity(quote, "R", start_to_close_timeout=T)
            if rounds > 1:
                workflow.continue_as_new(rounds - 1)
            return rounds


    @workflow.defn
    class Clocked:
        @workflow.run
        async def run(self) -> float:
            return await workflow.execute_activity(quote, "X", activity_id=clock_ref(), start_to_close_timeout=T)
    """
)


@pytest.fixture
def replay_dir(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(replay_check_workflows=WORKFLOWS)
    return project


def test_deterministic_parents_children_and_new_runs_pass(replay_dir: pytest.Pytester) -> None:
    replay_dir.makepyfile(
        test_inner=dedent(
            """
            from replay_check_workflows import Child, Parent, Rounds, quote

            async def test_parent_and_children(temporal):
                assert await temporal.run(Parent.run, args=[["B", "A"], False], workflows=[Parent, Child], activities=[quote]) == 202.0

            async def test_continue_as_new(temporal):
                assert await temporal.run(Rounds.run, 3, activities=[quote]) == 1
            """
        )
    )
    run_expecting(replay_dir, passed=2)


#: The nondeterministic workflow under each switch: the default, a marker off, a marker on.
NONDETERMINISTIC_TESTS = dedent(
    """
    import pytest
    from replay_check_workflows import Child, Clocked, Parent, quote

    async def test_clocked(temporal):
        await temporal.run(Clocked.run, activities=[quote])

    @pytest.mark.temporal(replay_check=False)
    async def test_clocked_unchecked(temporal):
        await temporal.run(Clocked.run, activities=[quote])

    async def test_clocked_child(temporal):
        await temporal.run(Parent.run, args=[["A"], True], workflows=[Parent, Child], activities=[quote])

    @pytest.mark.temporal(replay_check=True)
    async def test_clocked_checked(temporal):
        await temporal.run(Clocked.run, activities=[quote])
    """
)


def test_a_nondeterministic_workflow_fails_its_test_at_teardown(replay_dir: pytest.Pytester) -> None:
    replay_dir.makepyfile(test_inner=NONDETERMINISTIC_TESTS)
    result = run_expecting(replay_dir, passed=4, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_clocked *",
            "- workflow 'test-inner-py-test-clocked-*-clocked-1' (Clocked) does not replay: nondeterministic at event 5 (ActivityTaskScheduled quote(\"X\") id=quote-*)",
            "  At event 5 the history has:",
            "  The current code instead scheduled activity quote(\"X\") id=quote-*",
            "      at replay_check_workflows.py:*: return await workflow.execute_activity(quote, \"X\", activity_id=clock_ref()*",
            "  Timeline around event 5:",
            "  >>   5 *ActivityTaskScheduled*",
            "  Likely causes:",
            "    - sandbox bypass at replay_check_workflows.py:*: with workflow.unsafe.sandbox_unrestricted():",
            "    - wall-clock time at replay_check_workflows.py:*: return f\"quote-{time.time_ns()}\"",
            "  SDK message:",
            "      *TMPRL1100* Nondeterminism error: Activity id of scheduled event 'quote-*' does not match*",
        ]
    )
    # The parent is deterministic; its child is not, and is named as such.
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_clocked_child*", "- child workflow '*-parent-1-A' (Child) does not replay: *"]
    )
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_clocked_checked*"])
    assert "ERROR at teardown of test_clocked_unchecked" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "ini"),
    [(["--temporal-replay-check=false"], ""), ([], "temporal_replay_check = false\n")],
    ids=["option", "ini"],
)
def test_the_check_can_be_turned_off_and_a_marker_turns_it_back_on(
    replay_dir: pytest.Pytester, args: list[str], ini: str
) -> None:
    replay_dir.makeini(INI + ini)
    replay_dir.makepyfile(test_inner=NONDETERMINISTIC_TESTS)
    # Only the test whose marker turns the check back on fails: the others, the child's too, pass.
    result = run_expecting(replay_dir, *args, passed=4, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_clocked_checked*"])


def test_an_invalid_switch_is_a_usage_error(replay_dir: pytest.Pytester) -> None:
    result = replay_dir.runpytest("--temporal-replay-check=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*Invalid boolean 'maybe' for --temporal-replay-check. Valid values: true, false, yes, no, 1, 0."]
    )


def test_after_a_failing_test_the_replay_problem_is_one_line(replay_dir: pytest.Pytester) -> None:
    replay_dir.makepyfile(
        test_inner=dedent(
            """
            from replay_check_workflows import Clocked, quote

            async def test_fails(temporal):
                await temporal.run(Clocked.run, activities=[quote])
                assert 1 == 2, "the real failure"
            """
        )
    )
    result = run_expecting(replay_dir, failed=1, errors=1)
    text = result.stdout.str()
    teardown = text[text.index("ERROR at teardown of test_fails") : text.index("= FAILURES =")]
    assert "(Clocked) does not replay: nondeterministic at event 5" in teardown
    assert "Timeline around" not in teardown and "SDK message" not in teardown
    assert "the real failure" in text


def test_the_harness_saves_and_replays_one_history(replay_dir: pytest.Pytester) -> None:
    replay_dir.makepyfile(
        test_inner=dedent(
            """
            from pathlib import Path
            from pytest_temporal_agents import History
            from replay_check_workflows import Clocked, Rounds, quote

            async def test_replay_methods(temporal, tmp_path):
                handle = await temporal.start(Rounds.run, 1, activities=[quote])
                await handle.result()
                path = await temporal.save_history(handle, tmp_path / "deep" / "rounds.json")
                assert path.exists() and '"workflowId"' in path.read_text()

                assert (await temporal.replay(handle)).ok
                assert (await temporal.replay(path)).ok
                assert (await temporal.replay(History.load(path))).ok
                wrong = await temporal.replay(path, workflows=[Clocked])
                assert wrong.status == "invalid" and "'Rounds', which none of the workflows" in wrong.report
                bad = tmp_path / "bad.json"
                bad.write_text("{")
                assert (await temporal.replay(bad)).status == "invalid"

            async def test_replay_needs_workflows(temporal):
                import pytest
                from pytest_temporal_agents import HarnessUsageError
                with pytest.raises(HarnessUsageError, match="Pass workflows="):
                    await temporal.replay("nothing")
            """
        )
    )
    run_expecting(replay_dir, passed=2)
