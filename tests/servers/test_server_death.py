"""A server that dies mid-session: the test says so with its log, one restart, then no more."""

from __future__ import annotations

from textwrap import dedent

import pytest

#: In a subprocess: the server's owner is then the inner run, and no module of temporalio
#: is imported twice into one interpreter (pytester drops what an in-process run imported).
LEAN = ("-p", "no:randomly", "-p", "no:cacheprovider")


def run_expecting(inner: pytest.Pytester, *args: str, **outcomes: int) -> pytest.RunResult:
    result = inner.runpytest_subprocess(*LEAN, *args)
    result.assert_outcomes(**outcomes)
    return result

KILLER = dedent(
    """
    import os, signal, time
    from pytest_temporal_agents.plugin import POOL_KEY
    from workflows import Greeting, GreetingWorkflow, compose_greeting

    async def greet(temporal):
        result = await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting])
        assert result == "Hello, Ada!"

    def kill_server(request):
        pool = request.config.stash[POOL_KEY]
        launcher = pool.launcher(pool.started[0])
        os.kill(launcher.server_pid(), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while launcher.server_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not launcher.server_alive()
    """
)


@pytest.mark.parametrize("env", ["time-skipping", "local"])
def test_the_test_that_killed_the_server_fails_saying_so_and_later_tests_run(
    inner: pytest.Pytester, env: str
) -> None:
    inner.makepyfile(
        test_death=KILLER
        + dedent(
            """
            async def test_1_kills_the_server(temporal, request):
                await greet(temporal)
                kill_server(request)

            async def test_2_runs_on_a_new_server(temporal):
                await greet(temporal)

            async def test_3_runs_too(temporal):
                await greet(temporal)
            """
        )
    )
    result = run_expecting(inner, f"--temporal-env={env}", passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_1_kills_the_server*",
            (
                f"*the {env} server (pid *) died during this session*it is restarted for the later "
                "tests. Its last log lines:"
            ),
        ]
    )
    # One death, reported once (the short summary may repeat it, as wide as the terminal allows).
    reports = [line for line in result.stdout.lines if " died during this session" in line]
    assert len([line for line in reports if not line.startswith("ERROR ")]) == 1, reports


def test_a_second_death_fails_later_tests_at_once_without_another_restart(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_death=KILLER
        + dedent(
            """
            async def test_1_kills_the_server(temporal, request):
                await greet(temporal)
                kill_server(request)

            async def test_2_kills_the_new_one(temporal, request):
                await greet(temporal)
                kill_server(request)

            async def test_3_fails_at_once(temporal):
                raise AssertionError("never reached")

            def test_4_without_temporal_passes():
                pass
            """
        )
    )
    result = run_expecting(inner, passed=3, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_3_fails_at_once*",
            (
                "*the time-skipping server (pid *) died*it had died once already in this session, so "
                "it is not restarted again*"
            ),
        ]
    )
    assert "never reached" not in result.stdout.str()
