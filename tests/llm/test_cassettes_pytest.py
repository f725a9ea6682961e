"""The ``llm_cassette`` marker and ``--llm-record`` end to end, in nested pytest runs:
record once through a fake upstream, replay with the upstream gone, then drift."""

from __future__ import annotations

import sys
from pathlib import Path

import anthropic  # noqa: F401 - imported here once, not again by every nested run
import openai  # noqa: F401
import pytest

SECRET = "sk-upstream-secret-for-pytester-0001"
#: This checkout: nested runs in a subprocess import its package, not an installed one.
ROOT = Path(__file__).resolve().parents[2]

#: The "real provider" of the nested runs: a second fake, named by the environment (with a
#: secret key) before the fake_llm fixture points the environment at itself.
UPSTREAM = f"""
import pytest
from pytest_temporal_agents.llm import FakeLLM

@pytest.fixture(scope="session", autouse=True)
def upstream():
    fake = FakeLLM().start()
    fake.respond_with(lambda request: "echo: " + request.last_text)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", fake.openai_base_url)
        env.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
        env.setenv("OPENAI_API_KEY", "{SECRET}")
        env.setenv("ANTHROPIC_API_KEY", "{SECRET}")
        yield fake
    fake.stop()
"""
#: No provider at all: a port nothing listens on. A run that passes used no network.
NO_UPSTREAM = """
import pytest

@pytest.fixture(scope="session", autouse=True)
def no_upstream():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        env.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        env.setenv("OPENAI_API_KEY", "sk-key-of-nothing")
        env.setenv("ANTHROPIC_API_KEY", "sk-key-of-nothing")
        yield
"""
AGENT = """
import anthropic
import openai
import pytest

pytestmark = pytest.mark.llm_cassette  # each test: cassettes/test_agent/<test name>.yaml


def ask(question):
    with openai.OpenAI(max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{{"role": "user", "content": question}}], stream=True
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def test_asks(fake_llm):
    assert ask("{question}") == "echo: {question}"
    with anthropic.Anthropic(max_retries=0) as client:
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{{"role": "user", "content": "And TSLA?"}}]
        )
    assert message.content[0].text == "echo: And TSLA?"
    assert [request.status for request in fake_llm.requests] == [200, 200]
"""
QUESTION = "What does AAPL cost?"


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_agent=AGENT.format(question=QUESTION))
    return pytester


def recorded(inner: pytest.Pytester) -> Path:
    inner.makeconftest(UPSTREAM)
    inner.runpytest("--llm-record=all").assert_outcomes(passed=1)
    inner.makeconftest(NO_UPSTREAM)
    return inner.path / "cassettes" / "test_agent" / "test_asks.yaml"


def test_record_once_then_replay_with_no_provider(inner: pytest.Pytester) -> None:
    cassette = recorded(inner)

    text = cassette.read_text()
    assert SECRET not in text
    assert "content: What does AAPL cost?" in text and "content: And TSLA?" in text
    inner.runpytest().assert_outcomes(passed=1)
    inner.runpytest("--llm-record=none").assert_outcomes(passed=1)
    assert cassette.read_text() == text  # replaying never rewrites


def test_a_changed_prompt_fails_with_a_diff(inner: pytest.Pytester) -> None:
    recorded(inner)
    inner.makepyfile(test_agent=AGENT.format(question="What does MSFT cost?"))

    result = inner.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "*it drifted from interaction #1 (openai.chat, model 'gpt-4o-mini', stream): "
                "messages changed"
            ),
            '*-    "content": "What does AAPL cost?",',
            '*+    "content": "What does MSFT cost?",',
        ]
    )


def test_a_test_with_no_cassette_yet_fails_at_setup_saying_how_to_record(
    inner: pytest.Pytester,
) -> None:
    inner.makeconftest(NO_UPSTREAM)
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            (
                "*The cassette */cassettes/test_agent/test_asks.yaml does not exist, and the "
                "record mode is 'none' (replay only)."
            ),
            "*pytest --llm-record=new*",
        ]
    )


def test_recording_with_no_provider_reachable_says_which_url(inner: pytest.Pytester) -> None:
    recorded(inner)
    inner.makepyfile(test_agent=AGENT.format(question="What does MSFT cost?"))

    result = inner.runpytest("--llm-record=new")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*recording it failed: the upstream http://127.0.0.1:9/v1/chat/completions did not answer*"
        ]
    )


def test_the_marker_sets_a_test_s_mode_and_the_command_line_overrides_it(
    inner: pytest.Pytester,
) -> None:
    inner.makeconftest(UPSTREAM)
    inner.makepyfile(
        test_agent=AGENT.format(question=QUESTION).replace(
            "pytest.mark.llm_cassette", 'pytest.mark.llm_cassette("quotes", record="new")'
        )
    )
    inner.runpytest("--llm-record=none").assert_outcomes(errors=1)  # CI stays offline
    inner.runpytest().assert_outcomes(passed=1)
    assert (inner.path / "cassettes" / "test_agent" / "quotes.yaml").exists()


def test_an_unknown_record_mode_stops_the_run_listing_the_valid_ones(
    inner: pytest.Pytester,
) -> None:
    result = inner.runpytest("--llm-record=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-record='sometimes' is not a record mode. Valid modes: none, new, all."]
    )
    inner.makeini("[pytest]\nllm_record = often\n")
    inner.runpytest().stderr.fnmatch_lines(["*llm_record='often' is not a record mode*"])


def test_the_option_is_in_the_help(inner: pytest.Pytester) -> None:
    inner.runpytest("--help").stdout.fnmatch_lines(["*--llm-record=LLM_RECORD*"])
    inner.runpytest("--markers").stdout.fnmatch_lines(
        ["@pytest.mark.llm_cassette(path=None, [*], record=None): *"]
    )


def _without_times(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("created:"))


def test_the_docs_cassette_is_what_its_recording_script_records(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = ROOT / "docs" / "examples"
    here = pytester.path / "docs" / "examples"
    (here / "cassettes").mkdir(parents=True)
    for name in ("test_cassettes.py", "research_agent.py", "cassettes/record_aapl.py"):
        (here / name).write_text((examples / name).read_text())
    pytester.makeini(
        "[pytest]\npythonpath = docs/examples\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    result = pytester.run(sys.executable, "docs/examples/cassettes/record_aapl.py")

    assert result.ret == 0, result.stdout.str()
    recorded = (here / "cassettes" / "test_cassettes" / "aapl.yaml").read_text()
    checked_in = (examples / "cassettes" / "test_cassettes" / "aapl.yaml").read_text()
    assert _without_times(recorded) == _without_times(checked_in)
    assert "sk-stand-in-for-a-real-key" not in recorded
