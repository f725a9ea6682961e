"""A property-test campaign's progress line: on a terminal only, and the outcome unchanged.

The end-to-end cases run a nested pytest in a real subprocess whose standard output is a
pseudo-terminal (or a pipe), with ``@given`` tests that open ``temporal.isolated()`` per
example on the real time-skipping server. The counting, the words and the cursor work are
checked directly too, on a writer that records what it is given.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption
from terminal_support import run_in_a_terminal

from pytest_temporal_agents.harness import Campaign, CampaignProgress, observed, quiet_reason

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = "\x1b"
#: The line as the plugin draws it: erase to the end of the line, then the counts.
DRAWN = re.compile(r"\x1b\[K examples (\d+)/5")

CAMPAIGN = """
from hypothesis import given, settings, strategies as st
from workflows import Greeting, GreetingWorkflow, compose_greeting


@settings(max_examples=5)
@given(times=st.integers(min_value=1, max_value=1000))
async def test_greets_any_number_of_times(temporal, times):
    async with temporal.isolated(replay_check=False) as t:
        greeting = await t.run(GreetingWorkflow.run, Greeting("Ada", times), activities=[compose_greeting])
        assert greeting.count("Ada") == times


@settings(max_examples=5)
@given(times=st.integers(min_value=1, max_value=1000))
async def test_greets_fewer_than_three_times(temporal, times):
    async with temporal.isolated(replay_check=False) as t:  # an example fails when its scope raises
        greeting = await t.run(GreetingWorkflow.run, Greeting("Ada", times), activities=[compose_greeting])
        assert greeting.count("Ada") < 3
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def campaign(inner: pytest.Pytester) -> Path:
    """A directory with the ini, the sample workflows and the two campaigns."""
    inner.makepyfile(test_campaign=CAMPAIGN)
    return inner.path


def _env() -> dict[str, str]:
    # This tree's code, whatever is installed; a terminal type rich and pytest draw on, in
    # colour as a user's terminal is (pytester turns pytest's colours off with PY_COLORS=0).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}
    for name in ("PY_COLORS", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    return env


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def _in_a_terminal(cwd: Path, *args: str, timeout: float = 120) -> tuple[int, str]:
    """Run a nested pytest with a pseudo-terminal as stdout and stderr; its output, decoded."""
    return run_in_a_terminal(_pytest(*args), cwd=cwd, env=_env(), timeout=timeout)


def _in_a_pipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _pytest(*args), capture_output=True, text=True, cwd=cwd, env=_env(), timeout=120, check=False
    )


def _minimal_example_reported(out: str) -> None:
    # "Falsifying example:" up to hypothesis 6.16x, "Failing test case:" later
    assert re.search(r"(Falsifying example|Failing test case): test_greets_fewer_than_three_times\(", out), out
    assert "times=3," in out  # shrunk to the smallest failing value, as without the line


def test_a_campaign_shows_its_progress_on_a_terminal(campaign: Path) -> None:
    code, out = _in_a_terminal(campaign, "test_campaign.py")
    assert code == 1, out
    assert re.search(r"1 failed.*1 passed", out), out
    shown = [int(n) for n in DRAWN.findall(out)]
    assert 1 in shown and 5 in shown, out  # the passing campaign ran its five examples
    assert re.search(r"failed [1-9]", out)  # the failing one counted its failures
    # Past its five examples a failing campaign is shrinking (the last run reports the minimum).
    assert "examples 5/5, shrinking: " in out
    assert re.search(r"\d+:\d\d:\d\d", out)  # the elapsed time
    # Erased before pytest writes the outcome: cursor back after pytest's text, line cleared.
    assert re.search(r"\r\x1b\[17C\x1b\[K(\x1b\[32m)?\.", out), out
    assert "test_campaign.py \r\x1b[17C\x1b[K examples 1/5" in out
    _minimal_example_reported(out)


def test_a_campaign_in_a_pipe_writes_no_line_and_no_control_code(campaign: Path) -> None:
    done = _in_a_pipe(campaign, "test_campaign.py")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert ESCAPE not in out
    assert not re.search(r"examples \d", out)
    assert "test_campaign.py .F" in out
    _minimal_example_reported(out)


@pytest.mark.parametrize(
    "args",
    [("-qq",), ("-n", "1"), ("-p", "no:terminal")],
    ids=["-qq", "xdist", "no-terminal"],
)
def test_quiet_on_a_terminal_when_asked_or_when_pytest_has_no_terminal(
    campaign: Path, args: tuple[str, ...]
) -> None:
    code, out = _in_a_terminal(campaign, "test_campaign.py", "-k", "any_number", *args)
    assert code == 0, out
    assert "\x1b[K" not in out and not re.search(r"examples \d", out), out


# -- the configurations that keep the line off (real pytest configurations) --------------------
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((), None),
        (("-q",), None),
        (("-qq",), "-qq"),
        (("-s",), "-s (no capture)"),
        (("--log-cli-level=INFO",), "live logging"),
        (("-o", "log_cli=true"), "live logging"),
        (("-p", "no:terminal"), "no terminal reporter (-p no:terminal)"),
    ],
)
def test_quiet_reasons(project: pytest.Pytester, args: tuple[str, ...], reason: str | None) -> None:
    config = project.parseconfigure(*args)
    assert quiet_reason(config) == reason


def test_an_xdist_worker_is_quiet(project: pytest.Pytester) -> None:
    config = project.parseconfigure()
    config.workerinput = {"workerid": "gw0"}  # type: ignore[attr-defined]
    assert quiet_reason(config) == "an xdist worker"


# -- counting and wording, without a terminal --------------------------------------------------
class Examples:
    """Stands in for hypothesis's build context: ``next()`` begins another example."""

    def __init__(self) -> None:
        self.current = object()

    def next(self) -> None:
        self.current = object()

    def key(self) -> object:
        return self.current


def _run(campaign: Campaign, examples: Examples, outcomes: list[bool]) -> None:
    for failed in outcomes:
        examples.next()
        campaign.started()
        campaign.ended(failed=failed)


def test_the_words_follow_the_plan_then_say_what_is_known_past_it() -> None:
    examples = Examples()
    campaign = Campaign(3, examples.key)
    assert campaign.description() == "examples 0/3" and campaign.completed() == 0
    _run(campaign, examples, [False, False, False])
    assert campaign.description() == "examples 3/3" and campaign.failures == 0
    _run(campaign, examples, [False])  # rejected or explicit examples: no claim of shrinking
    assert campaign.description() == "examples 4 (max 3)" and campaign.completed() == 3

    failing = Campaign(3, examples.key)
    _run(failing, examples, [False, True, False, True, True])
    assert failing.failures == 3
    assert failing.description() == "examples 3/3, shrinking: 2"
    assert Campaign(None, examples.key).description() == "examples 0"


def test_two_scopes_of_one_example_count_once() -> None:
    examples = Examples()
    campaign = Campaign(5, examples.key)
    examples.next()
    for failed in (True, True):  # both scopes of the example fail: one failed example
        campaign.started()
        campaign.ended(failed=failed)
    assert (campaign.examples, campaign.failures) == (1, 1)


@settings(max_examples=3, database=None)
@given(st.integers())
def test_inside_hypothesis_each_example_is_its_own(n: int) -> None:
    campaign = Campaign(3)  # the real key: hypothesis's build context of this example
    campaign.started()
    campaign.started()
    assert campaign.examples == 1


# -- drawing, on a writer that records -------------------------------------------------------
class Writer:
    """pytest's terminal writer as the line uses it: a fixed column, a width, raw writes."""

    def __init__(self, column: int = 17, width: int = 100) -> None:
        self.width_of_current_line = column
        self.fullwidth = width
        self.hasmarkup = False
        self.written: list[str] = []
        self.suspensions = 0
        self.fail_with: Exception | None = None

    def write_raw(self, text: str, *, flush: bool = False) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.written.append(text)

    def flush(self) -> None:
        pass

    @contextlib.contextmanager
    def suspended(self) -> Any:
        self.suspensions += 1
        yield


def _progress(writer: Writer, times: list[float] | None = None, planned: int = 5) -> CampaignProgress:
    clock = iter(times or [float(n) for n in range(1000)])
    return CampaignProgress(
        Campaign(planned, object), writer, writer.suspended, color=False, clock=lambda: next(clock)
    )


def test_the_line_goes_after_pytests_text_and_is_erased_before_the_outcome() -> None:
    writer = Writer(column=17)
    progress = _progress(writer)
    progress.example_started()
    progress.example_ended(failed=True)
    progress.close()
    progress.close()  # once only
    first, second, erased = writer.written
    assert first.startswith("\r\x1b[17C\x1b[K examples 1/5 ") and "failed 0" in first
    assert "failed 1" in second and "0:00:00" in second
    assert erased == "\r\x1b[17C\x1b[K"
    assert ESCAPE not in first.split("\x1b[K", 1)[1]  # no colour when pytest's writer has none
    assert writer.suspensions == 3  # every write with pytest's capture lifted
    assert len(first) - len("\r\x1b[17C\x1b[K") <= 100 - 17


def test_starts_close_together_are_drawn_once_and_every_end_is_drawn() -> None:
    writer = Writer()
    progress = _progress(writer, times=[0.0, 0.01, 0.02, 0.03, 0.2, 0.21, 0.22])
    for _ in range(3):
        progress.example_started()
        progress.example_ended(failed=False)
    assert [line.count("examples") for line in writer.written] == [1, 1, 1, 1, 1]
    assert "examples 3/5" in writer.written[-1]


def test_a_line_too_narrow_or_a_full_row_draws_nothing() -> None:
    for writer in (Writer(column=75, width=100), Writer(column=80, width=80)):
        progress = _progress(writer)
        progress.example_started()
        progress.example_ended(failed=False)
        progress.close()
        assert writer.written == []


def test_a_wrapped_line_is_reached_from_its_own_row() -> None:
    writer = Writer(column=130, width=100)
    progress = _progress(writer)
    progress.example_started()
    assert writer.written[0].startswith("\r\x1b[30C\x1b[K examples 1/5")


def test_a_terminal_that_fails_turns_the_line_off_not_the_test() -> None:
    writer = Writer()
    writer.fail_with = OSError(5, "Input/output error")
    progress = _progress(writer)
    progress.example_started()
    writer.fail_with = None
    progress.example_ended(failed=False)
    progress.close()
    assert writer.written == []


# -- the scope wrapper -------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def example_started(self) -> None:
        self.events.append("started")

    def example_ended(self, *, failed: bool) -> None:
        self.events.append(f"ended failed={failed}")


@contextlib.asynccontextmanager
async def _scope() -> Any:
    yield "harness"


async def test_observed_tells_the_listener_how_each_scope_ended() -> None:
    recorder = Recorder()
    async with observed(_scope(), recorder) as entered:
        assert entered == "harness"
    with pytest.raises(AssertionError):
        async with observed(_scope(), recorder):
            raise AssertionError("the property does not hold")
    with pytest.raises(UnsatisfiedAssumption):
        async with observed(_scope(), recorder):
            raise UnsatisfiedAssumption  # what hypothesis's assume() raises: not a failure
    async with observed(_scope(), None) as entered:  # no listener: the scope as it is
        assert entered == "harness"
    assert recorder.events == [
        "started",
        "ended failed=False",
        "started",
        "ended failed=True",
        "started",
        "ended failed=False",
    ]

