"""Installed but unused, the plugin imports none of the heavy libraries (module lists, not times);
a feature that needs a missing extra says which one to install."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from textwrap import dedent

import pytest

from pytest_temporal_agents import ExtraMissing, HarnessUsageError
from pytest_temporal_agents.mocks import fake_value

HEAVY = ("temporalio", "google", "hypothesis", "faker", "freezegun", "openai", "anthropic")

#: Every module of ours a run with no Temporal test may load: the plugin, the package's lazy
#: names, and what pytest_addoption / pytest_configure read (option specs, settings, marker
#: signatures). Not the harness, the server pool, the fake model server or any feature.
LIGHT = {
    "pytest_temporal_agents",
    "pytest_temporal_agents._errors",
    "pytest_temporal_agents._lazy",
    "pytest_temporal_agents._unrewritten",
    "pytest_temporal_agents.plugin",
    "pytest_temporal_agents.harness",
    "pytest_temporal_agents.harness._options",
    "pytest_temporal_agents.harness._pytest_support",
    "pytest_temporal_agents.servers",
    "pytest_temporal_agents.servers._binaries",
    "pytest_temporal_agents.llm",
    "pytest_temporal_agents.llm._errors",
    "pytest_temporal_agents.llm._options",
}

#: As pytest is told to run without our plugin and without the plugins of the libraries that
#: became extras: the same as an environment where hypothesis and faker are not installed.
NO_EXTRAS_PLUGINS = ("-p", "no:faker", "-p", "no:hypothesispytest")

REPORT_MODULES = dedent(
    f"""
    import sys

    HEAVY = {HEAVY!r}


    def pytest_unconfigure():
        from _pytest.assertion.rewrite import AssertionRewritingHook

        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
        ours = sorted(m for m in sys.modules if m.startswith("pytest_temporal_agents"))
        rewritten = [
            m for m in ours if isinstance(getattr(sys.modules[m].__spec__, "loader", None), AssertionRewritingHook)
        ]
        print("HEAVY=" + ",".join(loaded))
        print("OURS=" + ",".join(ours))
        print("REWRITTEN=" + ",".join(rewritten))
    """
)


def _reported(output: str, key: str) -> list[str]:
    lines = [line for line in output.splitlines() if line.startswith(key + "=")]
    assert len(lines) == 1, output
    value = lines[0].split("=", 1)[1]
    return value.split(",") if value else []


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest_temporal_agents, pytest_temporal_agents.plugin\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
        "print(sorted(m for m in sys.modules if m.startswith('pytest_temporal_agents')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, ours = done.stdout.splitlines()
    assert heavy == "[]"
    assert ours == str(sorted({"pytest_temporal_agents", "pytest_temporal_agents._lazy", "pytest_temporal_agents._unrewritten", "pytest_temporal_agents.plugin"}))


def test_a_run_without_temporal_tests_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(REPORT_MODULES)
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1\n")
    result = pytester.runpytest_subprocess("-s", *NO_EXTRAS_PLUGINS)
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert _reported(output, "HEAVY") == []
    ours = set(_reported(output, "OURS"))
    assert "pytest_temporal_agents.plugin" in ours  # the plugin did load
    assert ours <= LIGHT, sorted(ours - LIGHT)
    # At most the package's __init__ (and the module it unmarks the package with) went
    # through pytest's assertion rewriting (parsed and compiled from source on every run
    # without a bytecode cache); the rest loads bytecode.
    # (An editable install, as here, is not marked for rewriting at all; a wheel install is:
    # benchmarks/unused_install.py measures one.)
    assert set(_reported(output, "REWRITTEN")) <= {"pytest_temporal_agents", "pytest_temporal_agents._unrewritten"}


def test_a_run_with_options_markers_and_ini_settings_stays_light(pytester: pytest.Pytester) -> None:
    # Settings resolved, markers registered (--strict-markers), a test carrying our markers
    # but not the fixture: still nothing heavy.
    pytester.makeini("[pytest]\ntemporal_timeout = 20\nllm_record = none\n")
    pytester.makeconftest(REPORT_MODULES)
    pytester.makepyfile(
        test_marked=(
            "import pytest\n\n"
            "@pytest.mark.temporal(timeout=5)\n"
            "@pytest.mark.llm_budget(tokens=10)\n"
            "def test_marked():\n    assert 1\n"
        )
    )
    result = pytester.runpytest_subprocess(
        "-s", "--strict-markers", "--temporal-env=time-skipping", *NO_EXTRAS_PLUGINS
    )
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert _reported(output, "HEAVY") == []
    assert set(_reported(output, "OURS")) <= LIGHT


def test_a_bad_option_is_still_reported_at_start_up(pytester: pytest.Pytester) -> None:
    # Lazy loading must not postpone validation to the first Temporal test.
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1\n")
    result = pytester.runpytest_subprocess("--temporal-env=nowhere", *NO_EXTRAS_PLUGINS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nowhere*"])
    assert "Traceback" not in result.stderr.str()


def test_a_temporal_test_still_gets_everything(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(REPORT_MODULES)
    pytester.makepyfile(
        test_uses="async def test_uses(temporal):\n    assert temporal.task_queue.startswith('pta-')\n"
    )
    result = pytester.runpytest_subprocess("-s", *NO_EXTRAS_PLUGINS)
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert {"temporalio", "google"} <= set(_reported(output, "HEAVY"))
    ours = set(_reported(output, "OURS"))
    assert {"pytest_temporal_agents.harness._harness", "pytest_temporal_agents.servers._pool"} <= ours


def test_importing_the_package_unmarks_it_in_pytests_import_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_temporal_agents._unrewritten import exempt_in_installed_hooks

    class Hook:  # what pytest's AssertionRewritingHook keeps: the names it must rewrite
        def __init__(self) -> None:
            self._must_rewrite = {"pytest_temporal_agents", "reference_workflows", "their_plugin"}

    hooks = [Hook(), Hook()]
    monkeypatch.setattr(sys, "meta_path", [*hooks, object()])  # restored after the test
    assert exempt_in_installed_hooks() == 2
    assert [hook._must_rewrite for hook in hooks] == [{"their_plugin"}, {"their_plugin"}]


# -- the extras: a feature that needs a missing one names it ----------------------------------

WITHOUT = "import sys\nsys.modules[{module!r}] = None  # as if not installed\n"


def _run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module) + dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_strategies_without_hypothesis_name_the_property_extra() -> None:
    done = _run_without(
        "hypothesis",
        """
        try:
            import pytest_temporal_agents.strategies
        except ImportError as err:
            print(type(err).__name__)
            print(err)
        """,
    )
    assert done.returncode == 0, done.stderr
    name, *message = done.stdout.splitlines()
    assert name == "ExtraMissing"
    assert message[0].startswith("pytest_temporal_agents.strategies needs hypothesis")
    assert message[-1] == "Install the [property] extra: pip install 'pytest-temporal-agents[property]'"


def test_the_plugin_loads_and_mocks_with_returns_work_without_the_extras() -> None:
    done = _run_without(
        "hypothesis",
        """
        sys.modules["faker"] = None
        import pytest_temporal_agents.plugin
        from pytest_temporal_agents.mocks import fake_value
        assert fake_value(None, seed=1) is None  # nothing to fake: no extra needed
        print("ok")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]


@dataclass
class Quote:
    symbol: str
    price: float


class Opaque:
    """A type faker has no rule for: faked by hypothesis's from_type."""

    def __init__(self, size: int) -> None:
        self.size = size


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Block modules in this process for one test (the faker instance made afresh)."""
    from pytest_temporal_agents.mocks import _fakes

    monkeypatch.setattr(_fakes, "_FAKER", None)
    return monkeypatch


def test_faking_without_faker_names_the_fakes_extra(without: pytest.MonkeyPatch) -> None:
    without.setitem(sys.modules, "faker", None)
    with pytest.raises(ExtraMissing) as raised:
        fake_value(Quote, seed=7, owner="mock of activity 'quote'")
    message = str(raised.value)
    assert message.startswith("Faking a return value for mock of activity 'quote'")
    assert message.endswith("pip install 'pytest-temporal-agents[fakes]'")
    # A usage error of the harness, and an ImportError for code that catches that.
    assert isinstance(raised.value, HarnessUsageError)
    assert isinstance(raised.value, ImportError)


def test_the_hypothesis_fallback_without_hypothesis_names_the_property_extra(
    without: pytest.MonkeyPatch,
) -> None:
    without.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ExtraMissing, match=r"(?s)^Faking a value of type Opaque .*\[property\]'$"):
        fake_value(Opaque, seed=7)


def test_with_both_extras_the_same_value_is_faked(without: pytest.MonkeyPatch) -> None:
    quote = fake_value(Quote, seed=7)
    assert quote == fake_value(Quote, seed=7)
    assert isinstance(fake_value(Opaque, seed=7), Opaque)


MOCK_WITHOUT_RETURN = dedent(
    """
    import sys
    from dataclasses import dataclass

    from temporalio import activity

    sys.modules["faker"] = None  # as if the [fakes] extra were not installed


    @dataclass
    class Quote:
        symbol: str
        price: float


    @activity.defn
    async def quote(symbol: str) -> Quote:
        raise NotImplementedError


    async def test_mock_without_returns(temporal):
        temporal.mock_activity(quote)
    """
)


def test_a_mock_without_returns_in_a_run_without_faker_fails_naming_the_extra(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_mock=MOCK_WITHOUT_RETURN)
    result = pytester.runpytest_subprocess(*NO_EXTRAS_PLUGINS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ExtraMissing: Faking a return value for * (a mock with no returns=...) needs faker*",
            "*Install the [[]fakes] extra: pip install 'pytest-temporal-agents[[]fakes]'",
        ]
    )
