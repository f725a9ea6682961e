"""The plugin on a real cluster named only by Temporal's environment configuration.

This test's own dev server (``env="local"``) plays the external cluster; inner pytest runs
in subprocesses get nothing but environment variables or a profile file.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from pytest_temporal_agents import TemporalHarness

LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")
KEY = "tak-never-print-me-0123456789"

GREET_TEST = dedent(
    """
    from workflows import Greeting, GreetingWorkflow, compose_greeting

    async def test_greet(temporal):
        assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
    """
)


@pytest.fixture
def cluster(temporal: TemporalHarness, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dev server's address; the inner runs see no TEMPORAL_* variable of ours."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "")
    inner.makepyfile(test_external=GREET_TEST)
    return temporal.client.service_client.config.target_host


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


@pytest.mark.temporal(env="local")
async def test_temporal_address_and_api_key_from_the_environment(
    cluster: str, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", cluster)
    monkeypatch.setenv("TEMPORAL_API_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_TLS", "false")  # the dev server has no TLS (an API key implies it)
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["temporal: external cluster from the environment configuration*"])
    assert KEY not in output(result)


@pytest.mark.temporal(env="local")
async def test_a_profile_of_the_config_file(cluster: str, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    config = inner.path / "temporal.toml"
    config.write_text(f'[profile.ci]\naddress = "{cluster}"\nnamespace = "default"\n')
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external", "--temporal-profile=ci")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["temporal: external cluster from the environment configuration (profile 'ci')*"])


@pytest.mark.temporal(env="local")
async def test_a_wrong_namespace_names_the_setting_and_the_fix(
    cluster: str, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", cluster)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "no-such-namespace")
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            (
                f"*Namespace 'no-such-namespace' does not exist on the Temporal cluster at '{cluster}' "
                "(namespace from TEMPORAL_NAMESPACE)."
            ),
            "*Fix: create it (`temporal operator namespace create --namespace no-such-namespace*",
        ]
    )


@pytest.mark.temporal(env="local")
async def test_an_unreachable_address_from_the_environment(
    cluster: str, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("TEMPORAL_API_KEY", KEY)
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*Could not connect to the Temporal cluster at '127.0.0.1:1' (namespace 'default', TLS)*",
         "*Check that the cluster is running and that TEMPORAL_ADDRESS names it*"]
    )  # fmt: skip
    assert KEY not in output(result)


def test_a_bad_profile_fails_only_the_tests_that_need_the_cluster(
    inner: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings resolve at start-up without temporalio; the profile is read on first use."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    config = tmp_path / "temporal.toml"
    config.write_text(f'[profile.default]\napi_key = "{KEY}" broken\n')
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    inner.makepyfile(test_plain="def test_plain():\n    assert True\n", test_external=GREET_TEST)
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*The Temporal environment configuration could not be loaded*TOML parse error*"])
    assert KEY not in output(result)


@pytest.mark.temporal(env="local")
async def test_trading_agents_reaches_the_cluster_the_environment_names(
    temporal: TemporalHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reference_workflows import cluster

    address = temporal.client.service_client.config.target_host
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "")
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    monkeypatch.setenv("TEMPORAL_API_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_TLS", "false")
    async with cluster.open_cluster(cluster.StateDir(tmp_path)) as server:
        assert (server.origin, server.address, server.namespace) == ("address", address, "default")
        assert not (tmp_path / "server.json").exists()  # no embedded server was started
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "missing")
    with pytest.raises(cluster.CliError) as caught:
        async with cluster.open_cluster(cluster.StateDir(tmp_path)):
            pass
    assert "namespace 'missing' does not exist on" in str(caught.value)
    assert KEY not in str(caught.value)
