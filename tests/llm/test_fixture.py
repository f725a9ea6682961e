"""The ``fake_llm`` fixture end to end, in nested pytest runs (pytester)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

#: This checkout: nested runs in a subprocess import its package, not an installed one.
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester


def test_an_unscripted_request_fails_the_test_at_teardown_naming_it(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        dedent(
            """
            import openai

            def test_asks(fake_llm):
                try:
                    openai.OpenAI().chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": "Buy or sell TSLA?"}]
                    )
                except openai.BadRequestError:
                    pass  # code under test that swallows errors: the teardown still fails
            """
        )
    )
    result = inner.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_asks*",
            "*fake_llm: 1 problem:",
            (
                "*- openai.chat request #1 (model 'gpt-4o', last message user: "
                "'Buy or sell TSLA?'): no reply was scripted for it (it got HTTP 400)*"
            ),
        ]
    )


def test_unused_replies_fail_the_test_unless_allowed(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        dedent(
            """
            import pytest

            def test_forgets(fake_llm):
                fake_llm.reply("one").when(tool="search").fail(429)

            def test_allows_by_method(fake_llm):
                fake_llm.reply("one").allow_unused()

            @pytest.mark.fake_llm(allow_unused=True)
            def test_allows_by_marker(fake_llm):
                fake_llm.reply("one")

            def test_starts_clean(fake_llm):
                assert fake_llm.requests == [] and fake_llm.problems() == []
            """
        )
    )
    result = inner.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_forgets*",
            "*fake_llm: 2 problems:",
            "*- scripted reply never requested: reply('one')",
            (
                "*- scripted reply never requested: fail(429) (rule when(tool='search')) "
                "(a reply the code never asked for; if that is expected, call "
                "fake_llm.allow_unused()*"
            ),
        ]
    )


def test_a_failing_test_shows_the_problems_in_a_section_instead(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_fails(fake_llm):\n    fake_llm.reply('unused')\n    assert False\n")
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Captured fake_llm teardown*", "*reply('unused')*"])


def test_a_misspelt_marker_argument_is_an_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        dedent(
            """
            import pytest

            @pytest.mark.fake_llm(allow_unsued=True)
            def test_typo(fake_llm):
                pass
            """
        )
    )
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.fake_llm(allow_unsued=...) is invalid*among: allow_unused.*"]
    )


def test_the_environment_is_restored_after_each_test(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-developers-own")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    inner.makepyfile(
        dedent(
            """
            import os

            def test_a_uses_the_fake(fake_llm):
                assert os.environ["OPENAI_BASE_URL"] == fake_llm.openai_base_url
                assert os.environ["ANTHROPIC_BASE_URL"] == fake_llm.anthropic_base_url
                assert os.environ["OPENAI_API_KEY"] == "sk-fake-llm-not-a-real-key"
                assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-fake-llm-not-a-real-key"
                os.environ["SET_BY_TEST_A"] = "1"

            def test_b_sees_the_environment_as_it_was():
                assert os.environ["OPENAI_API_KEY"] == "sk-the-developers-own"
                assert "SET_BY_TEST_A" in os.environ  # the fixture restores only its own variables
                for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"):
                    assert name not in os.environ, name
            """
        )
    )
    inner.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    monkeypatch.delenv("SET_BY_TEST_A")


def test_without_the_extra_the_fixture_names_it(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        dedent(
            """
            import sys
            import pytest

            @pytest.fixture(scope="session", autouse=True)
            def uninstall_uvicorn():
                with pytest.MonkeyPatch.context() as patch:
                    patch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
                    yield
            """
        )
    )
    inner.makepyfile("def test_needs_it(fake_llm):\n    pass\n\ndef test_does_not():\n    pass\n")
    result = inner.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*The fake model server needs the [[]llm] extra, but 'uvicorn' is not installed*",
            "*Install it with: pip install 'pytest-temporal-agents[[]llm]'",
        ]
    )


def test_loading_the_plugin_imports_no_server_or_client(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # this plugin alone, by name
    inner.makepyfile(
        dedent(
            """
            import sys

            def test_nothing_heavy_is_imported(request):
                assert request.config.pluginmanager.has_plugin("pytest_temporal_agents.plugin")
                heavy = ("starlette", "uvicorn", "openai", "anthropic")
                assert [name for name in heavy if name in sys.modules] == []
            """
        )
    )
    result = inner.runpytest_subprocess("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")
    result.assert_outcomes(passed=1)


def test_each_xdist_worker_has_its_own_server_for_the_session(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    inner.makepyfile(
        dedent(
            """
            import os
            import pytest

            @pytest.mark.parametrize("n", range(4))
            def test_records_its_server(fake_llm, n):
                worker = os.environ["PYTEST_XDIST_WORKER"]
                with open(f"servers-{worker}.txt", "a") as out:
                    out.write(fake_llm.base_url + "\\n")
            """
        )
    )
    plugins = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio", "-p", "xdist")
    result = inner.runpytest_subprocess(*plugins, "-n", "2")
    result.assert_outcomes(passed=4)
    servers = {path.name: set(path.read_text().split()) for path in inner.path.glob("servers-*")}
    assert sorted(servers) == ["servers-gw0.txt", "servers-gw1.txt"]
    assert all(len(urls) == 1 for urls in servers.values()), servers
    assert servers["servers-gw0.txt"] != servers["servers-gw1.txt"]
