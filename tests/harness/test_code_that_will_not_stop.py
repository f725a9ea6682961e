"""Code that ignores cancellation or never yields fails its test; the session goes on.

Each case runs in a pytest subprocess with a deadline, so a regression shows as a failed
test here instead of a suite that hangs.
"""

from __future__ import annotations

from textwrap import dedent

import pytest

#: Subprocess runs load only the plugins they need.
LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")
#: Far above what each run needs (about 10 s); a hang ends here and fails the test.
DEADLINE = 90

STUBBORN = dedent(
    """
    import asyncio
    import threading
    from datetime import timedelta

    import pytest
    from temporalio import activity, workflow

    from workflows import Greeting, GreetingWorkflow, compose_greeting


    @activity.defn
    async def ask_the_model() -> str:
        while True:
            try:
                await asyncio.sleep(3600)
            except BaseException:  # a broad except around a model call swallows cancellation
                pass


    @workflow.defn
    class AgentWorkflow:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(ask_the_model, start_to_close_timeout=timedelta(hours=1))


    @activity.defn
    def ask_the_model_in_a_thread() -> str:
        # Blocks in a call that never returns (a socket read with no timeout does that): the
        # CancelledError the SDK raises in the thread waits for Python code that never runs.
        threading.Event().wait()
        return "never"


    @workflow.defn
    class ThreadedAgentWorkflow:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(
                ask_the_model_in_a_thread, start_to_close_timeout=timedelta(hours=1)
            )


    @workflow.defn
    class SpinningWorkflow:
        @workflow.run
        async def run(self) -> int:
            n = 0
            while True:  # never awaits: the SDK's deadlock detector fails its workflow task
                n += 1
    """
)

AFTER = dedent(
    """
    async def test_after(temporal):
        assert await temporal.run(GreetingWorkflow.run, Greeting("x"), activities=[compose_greeting]) == "Hello, x!"
    """
)


@pytest.fixture
def inner(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # only LEAN_SUBPROCESS's plugins
    return inner


def _run(inner: pytest.Pytester, body: str) -> pytest.RunResult:
    inner.makepyfile(test_stubborn=STUBBORN + dedent(body) + AFTER)
    return inner.runpytest_subprocess(*LEAN_SUBPROCESS, timeout=DEADLINE)


def test_an_activity_that_ignores_cancellation_fails_its_test_by_name(inner: pytest.Pytester) -> None:
    result = _run(
        inner,
        """
        @pytest.mark.temporal(timeout=1)
        async def test_agent(temporal):
            await temporal.run(AgentWorkflow.run, activities=[ask_the_model])
        """,
    )
    result.assert_outcomes(failed=1, errors=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_agent*",
            "activity 'ask_the_model' (attempt 1, workflow '*-agentworkflow-1') ignored cancellation: *",
        ]
    )
    assert "re-raise the CancelledError" in result.stdout.str()


def test_a_worker_block_whose_activity_ignores_cancellation_still_ends(inner: pytest.Pytester) -> None:
    result = _run(
        inner,
        """
        async def test_agent(temporal):
            async with temporal.worker(workflows=[AgentWorkflow], activities=[ask_the_model]):
                handle = await temporal.start(AgentWorkflow.run)
                await temporal.sleep(0.5)  # the activity is running when the block ends
        """,
    )
    result.assert_outcomes(errors=1, passed=2)
    result.stdout.fnmatch_lines(["activity 'ask_the_model' (attempt 1, *) ignored cancellation: *"])


def test_a_thread_activity_that_ignores_cancellation_neither_hangs_the_worker_nor_the_exit(
    inner: pytest.Pytester,
) -> None:
    # A thread cannot be stopped: before the daemon-thread pool, the worker's shutdown waited
    # for it and, once that was bounded, the interpreter's exit joined it forever.
    result = _run(
        inner,
        """
        @pytest.mark.temporal(timeout=1)
        async def test_agent(temporal):
            await temporal.run(ThreadedAgentWorkflow.run, activities=[ask_the_model_in_a_thread])
        """,
    )
    result.assert_outcomes(failed=1, errors=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_agent*",
            "activity 'ask_the_model_in_a_thread' (attempt 1, *) runs in a thread that was still busy 3 s *",
        ]
    )
    out = result.stdout.str()
    assert "does not keep the process alive" in out
    assert "was left behind" not in out  # the worker itself stopped


def test_a_workflow_that_never_yields_is_named_as_such(inner: pytest.Pytester) -> None:
    result = _run(
        inner,
        """
        @pytest.mark.temporal(timeout=3)
        async def test_spin(temporal):
            await temporal.run(SpinningWorkflow.run)
        """,
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*WorkflowTimeoutError: Workflow '*-spinningworkflow-1' (SpinningWorkflow) did not finish within 3 s*",
            "*Its workflow code never yields: the SDK stopped waiting for it after 2 s*",
        ]
    )


def test_a_body_waiting_outside_any_workflow_fails_naming_the_line(inner: pytest.Pytester) -> None:
    result = _run(
        inner,
        """
        import asyncio

        @pytest.mark.temporal(timeout=1)
        async def test_waits(temporal):
            nobody_sets_it = asyncio.Event()
            await nobody_sets_it.wait()
        """,
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*BodyTimeoutError: The test did not finish within 3 s of wall time (its Temporal timeout, 1 s, plus 2 s)*",
            "*test_stubborn.py:* in test_waits: await nobody_sets_it.wait()",
        ]
    )
