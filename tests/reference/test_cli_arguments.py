"""Bad ``trading-agents`` arguments: an argparse usage error naming the option and the fix, exit 2.

The table holds the values people type by mistake, with the exact message each gets; the
property feeds the parser generated argument lists (any option, any value, odd unicode) and
checks that it either accepts them or exits 2 with ``error: argument ...`` and no traceback.
All of it runs the parser in process; one test runs the console script end to end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_workflows import cli

ROOT = Path(__file__).resolve().parents[2]

BAD_ARGUMENTS: list[tuple[str, list[str], str]] = [
    ("negative-port", ["server", "--port", "-5"], "argument --port: '-5' is not a port: give 1 to 65535, or 0 for any free one"),
    ("port-too-big", ["ui", "--ui-port", "70000"], "argument --ui-port: '70000' is not a port: give 1 to 65535, or 0 for any free one"),
    ("port-not-a-number", ["server", "--port", "http"], "argument --port: 'http' is not a port: give 1 to 65535, or 0 for any free one"),
    ("negative-orders", ["account", "--orders", "-3"], "argument --orders: '-3' is not a whole number from 0 to 10,000"),
    ("absurd-orders", ["account", "--orders", "9" * 30], f"argument --orders: '{'9' * 30}' is not a whole number from 0 to 10,000"),
    ("infinite-deposit", ["account", "--deposit", "inf"], "argument --deposit: 'inf' is not a finite number; give a number above zero"),
    ("overflowing-deposit", ["account", "--deposit", "1e400"], "argument --deposit: '1e400' is not a finite number; give a number above zero"),
    ("nan-deposit", ["account", "--deposit", "nan"], "argument --deposit: 'nan' is not a finite number; give a number above zero"),
    ("negative-deposit", ["account", "--deposit", "-1"], "argument --deposit: '-1' is not above zero; give a number above zero"),
    ("absurd-deposit", ["account", "--deposit", "1e15"], "argument --deposit: '1e15' is more than 1,000,000,000,000; give at most 1,000,000,000,000"),
    ("hex-deposit", ["account", "--deposit", "0x10"], "argument --deposit: '0x10' is not a number; give one above zero"),
    ("zero-limit", ["runs", "--limit", "0"], "argument --limit: '0' is not above zero; give a whole number above zero"),
    ("float-limit", ["runs", "--limit", "1e9"], "argument --limit: '1e9' is not a whole number; give one above zero"),
    ("absurd-limit", ["runs", "--limit", "10001"], "argument --limit: '10001' is more than 10,000; give at most 10,000"),
    ("empty-symbol", ["run", "automated", "--symbol", ""], "argument --symbol: '' holds an empty symbol, not a ticker; give symbols such as AAPL or BRK.B, comma-separated"),
    ("odd-symbol", ["run", "automated", "--symbol", "AAPL,💥"], "argument --symbol: 'AAPL,💥' holds '💥', not a ticker; give symbols such as AAPL or BRK.B, comma-separated"),
    ("trailing-comma", ["run", "portfolio", "--symbol", "AAPL,"], "argument --symbol: 'AAPL,' holds an empty symbol, not a ticker; give symbols such as AAPL or BRK.B, comma-separated"),
    ("empty-strategy", ["run", "automated", "--strategy", ""], "argument --strategy: '' is empty; give a strategy, for example momentum"),
    ("empty-model", ["run", "automated", "--model", " "], "argument --model: ' ' is empty; give a model name, for example gpt-4o-mini"),
    ("empty-message", ["run", "long-running", "--message", ""], "argument --message: '' is empty; give a message, for example 'How is AAPL doing?'"),
    ("empty-namespace", ["status", "--namespace", ""], "argument --namespace: '' is empty; give a namespace, for example default"),
    ("control-characters", ["worker", "--namespace", "a\x1b[2J"], "argument --namespace: 'a\\x1b[2J' holds control characters; give a namespace, for example default"),
    ("empty-address", ["worker", "--address", ""], "argument --address: '' is not HOST:PORT (for example localhost:7233)"),
    ("address-port-0", ["worker", "--address", "localhost:0"], "argument --address: 'localhost:0' is not HOST:PORT (for example localhost:7233)"),
    ("ui-url", ["runs", "--ui-url", "localhost:8233"], "argument --ui-url: 'localhost:8233' is not an http(s) URL; give one such as http://localhost:8233"),
    ("empty-workflow-id", ["approve", ""], "argument WORKFLOW_ID: '' is empty; give a workflow id, for example automated-trading-1a2b3c"),
    ("empty-run-id", ["show", "wf", "--run-id", ""], "argument --run-id: '' is empty; give a run id, for example the one `trading-agents runs` lists"),
    ("empty-approver", ["approve", "wf", "--approver", ""], "argument --approver: '' is empty; give a name, for example alice"),
    ("empty-out", ["history", "wf", "--out", ""], "argument --out: '' is empty; give a file to write, such as history.json"),
    ("empty-html", ["show", "wf", "--html", ""], "argument --html: '' is empty; give a file to write, such as report.html"),
    ("empty-state-dir", ["account", "--state-dir", ""], "argument --state-dir: '' is empty; give a directory, such as ./.trading-agents"),
    ("bad-reasoner", ["worker", "--reasoner", "gpt"], "argument --reasoner: invalid choice: 'gpt' (choose from 'auto', 'rule-based', 'openai', 'anthropic')"),
]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: trading-agents ")
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "message"), [case[1:] for case in BAD_ARGUMENTS], ids=[case[0] for case in BAD_ARGUMENTS])
def test_a_bad_value_is_a_usage_error_naming_the_option_and_the_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _usage_error(argv, capsys) == f"trading-agents {argv[0]}: error: {message}"


def test_paths_that_cannot_be_written_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = {
        ("history", "wf", "--out", str(tmp_path)): (
            f"argument --out: {str(tmp_path)!r} is a directory; give a file in it, such as {tmp_path / 'history.json'}"
        ),
        ("history", "wf", "--out", str(a_file / "h.json")): (
            f"argument --out: {str(a_file / 'h.json')!r} is under {str(a_file)!r}, which is a file, not a "
            "directory; choose another path"
        ),
        ("show", "wf", "--html", str(tmp_path)): (
            f"argument --html: {str(tmp_path)!r} is a directory; give a file in it, such as {tmp_path / 'report.html'}"
        ),
        ("account", "--state-dir", str(a_file)): f"argument --state-dir: {str(a_file)!r} is a file, not a directory; give a directory",
    }
    for argv, message in cases.items():
        assert _usage_error(list(argv), capsys) == f"trading-agents {argv[0]}: error: {message}"


@pytest.mark.parametrize(
    "argv",
    [
        ["server", "--port", "0", "--ui-port", "65535"],
        ["account", "--orders", "0", "--deposit", "1_000.50"],
        ["runs", "--limit", "10,000"],
        ["run", "portfolio", "--symbol", "aapl, BRK.B", "--symbol", "BTC-USD,^GSPC"],
        ["history", "wf", "--out", "new-dir/sub/h.json"],
        ["worker", "--address", "[::1]:7233", "--ui-url", "https://ui.example:8233/"],
    ],
)
def test_good_values_still_parse(argv: list[str]) -> None:
    assert cli.build_parser().parse_args(argv).command == argv[0]


# -- properties ------------------------------------------------------------------------------------

ODD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
VALUES = st.one_of(
    ODD_TEXT,
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "-1", "0", "1e400", "nan", "localhost:7233", "AAPL", "/", ".", "a,,b", "http://x"]),
)
OPTIONS = [
    "--port", "--ui-port", "--orders", "--deposit", "--limit", "--symbol", "--strategy", "--model",
    "--message", "--namespace", "--address", "--ui-url", "--run-id", "--html", "--out", "--state-dir",
    "--reasoner", "--approver", "--reason", "--reset", "--reject",
]  # fmt: skip
COMMANDS = [*cli._COMMANDS, "", "bogus"]


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    argv = [draw(st.sampled_from(COMMANDS))]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            argv += [draw(st.sampled_from(OPTIONS)), draw(VALUES)]
        else:
            argv.append(draw(VALUES))
    return argv


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argument_lists())
def test_any_argument_list_parses_or_is_a_usage_error(argv: list[str]) -> None:
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = cli.build_parser().parse_args(argv)
    except SystemExit as exit_:
        assert exit_.code == 2, (argv, err.getvalue())
        lines = err.getvalue().splitlines()
        assert any(line.startswith("trading-agents") and ": error: " in line for line in lines), lines
        assert "Traceback" not in err.getvalue()
    else:
        assert args.command in cli._COMMANDS


def test_the_console_script_reports_a_bad_value_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reference_workflows.cli", "account", "--orders", "-3", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: trading-agents account")
    assert done.stderr.strip().splitlines()[-1] == (
        "trading-agents account: error: argument --orders: '-3' is not a whole number from 0 to 10,000"
    )
    assert "Traceback" not in done.stderr
