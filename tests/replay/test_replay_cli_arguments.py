"""Bad arguments to ``python -m pytest_temporal_agents replay``: exit 2 with the reason, never a traceback.

The table checks each message exactly; the property runs ``main(argv)`` in process on
generated argument lists over real good and bad history files and bad workflow specs, and
checks the exit status is one the command documents and that no exception escapes.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_support import HISTORIES

from pytest_temporal_agents.replay._cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main

PROG = "python -m pytest_temporal_agents replay"

BAD_ARGUMENTS: list[tuple[str, list[str], str]] = [
    ("jobs-negative", ["-j", "-2"], "argument -j/--jobs: '-2' is not a number of processes; give 1 to 64, or 0 or auto for one per CPU"),
    ("jobs-word", ["-j", "many"], "argument -j/--jobs: 'many' is not a number of processes; give 1 to 64, or 0 or auto for one per CPU"),
    ("jobs-fraction", ["--jobs", "1.5"], "argument -j/--jobs: '1.5' is not a number of processes; give 1 to 64, or 0 or auto for one per CPU"),
    ("jobs-empty", ["--jobs", ""], "argument -j/--jobs: '' is not a number of processes; give 1 to 64, or 0 or auto for one per CPU"),
    ("jobs-absurd", ["--jobs", "100000"], "argument -j/--jobs: '100000' is more than 64 processes; give 1 to 64, or 0 or auto for one per CPU"),
    ("limit-0", ["--query", "x", "--limit", "0"], "argument --limit: '0' is not a whole number of 1 or more"),
    ("limit-word", ["--query", "x", "--limit", "all"], "argument --limit: 'all' is not a whole number of 1 or more"),
    ("empty-query", ["--query", " "], "argument --query: ' ' is empty; give a visibility query, for example \"WorkflowType='Trade'\""),
    ("empty-junit", ["x.json", "--junit-xml", ""], "argument --junit-xml: '' is empty; give a file to write, such as replay.xml"),
    ("empty-save", ["--query", "x", "--save", ""], "argument --save: '' is empty; give a directory, such as fetched/"),
    ("paths-and-query", ["x.json", "--query", "x"], "give history PATHs or --query, not both"),
    ("nothing", [], "give history PATHs to replay, or --query to fetch them from a cluster"),
    ("save-without-query", ["x.json", "--save", "out"], "--save, --address and --profile go with --query"),
]


@pytest.mark.parametrize(("argv", "message"), [case[1:] for case in BAD_ARGUMENTS], ids=[case[0] for case in BAD_ARGUMENTS])
def test_a_bad_argument_is_a_usage_error_with_the_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--workflows", "replay_fixture_workflows:V1", *argv])
    assert exit_.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {PROG} ")
    assert err.strip().splitlines()[-1] == f"{PROG}: error: {message}"


def test_report_paths_a_file_blocks_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = {
        ("x.json", "--junit-xml", str(tmp_path)): (
            f"argument --junit-xml: {str(tmp_path)!r} is a directory; give a file in it, such as {tmp_path / 'replay.xml'}"
        ),
        ("x.json", "--junit-xml", str(a_file / "r.xml")): (
            f"argument --junit-xml: {str(a_file / 'r.xml')!r} needs {str(a_file)!r} to be a directory, but it is a file"
        ),
        ("--query", "x", "--save", str(a_file)): f"argument --save: {str(a_file)!r} is a file; give a directory",
    }
    for argv, message in cases.items():
        with pytest.raises(SystemExit) as exit_:
            main(["replay", "--workflows", "replay_fixture_workflows:V1", *argv])
        assert exit_.value.code == EXIT_BAD_INPUT
        assert capsys.readouterr().err.strip().splitlines()[-1] == f"{PROG}: error: {message}"


# -- property ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths to draw from: good histories, bad files, a mix, and paths that are no history."""
    root = tmp_path_factory.mktemp("replay-args")
    good = next(HISTORIES.rglob("Pricer-1.json"))
    shutil.copy(good, root / "good.json")
    (root / "nested.json").write_text("[" * 50_000 + "]" * 50_000)
    (root / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    mixed = root / "mixed"
    mixed.mkdir()
    shutil.copy(good, mixed / "good.json")
    (mixed / "empty.json").write_text("")
    (root / "empty-dir").mkdir()
    return {
        "good": str(root / "good.json"),
        "nested": str(root / "nested.json"),
        "binary": str(root / "binary.json"),
        "mixed": str(mixed),
        "empty-dir": str(root / "empty-dir"),
        "missing": str(root / "missing.json"),
        "device": "/dev/null",
    }


SPECS = ["replay_fixture_workflows:V1", "replay_fixture_workflows:NOPE", "no_such_module:X", "", ":", "os:path", "ü:ß"]
ODD = st.text(max_size=6).filter(lambda value: not value.startswith("-") or value in ("-", "--"))


@st.composite
def argument_lists(draw: st.DrawFn, paths: list[str]) -> list[str]:
    argv = ["replay"]
    for _ in range(draw(st.integers(0, 3))):
        argv.append(draw(st.sampled_from(paths) | ODD))
    if draw(st.integers(0, 9)):
        argv += ["--workflows", draw(st.sampled_from(SPECS) | ODD)]
    for _ in range(draw(st.integers(0, 2))):
        option = draw(st.sampled_from(["-j", "--limit", "--query", "--junit-xml", "--save", "-q", "--namespace", "--bogus"]))
        argv.append(option)
        if option not in ("-q", "--bogus"):
            # -j above 1 spawns interpreters: only its bad values here (and 1).
            values = st.sampled_from(["1.5", "1", "65", "x", "", "-1"]) if option == "-j" else st.sampled_from(["", " ", "0", "5"]) | ODD
            argv.append(draw(values))
    if "--query" in argv:  # never reach out to a cluster from a property test
        argv[argv.index("--query") + 1 :] = [" "]
    return argv


def test_any_argument_list_exits_with_a_documented_status(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = list(files.values())
    # Drawn --junit-xml and --save values are relative paths: they land here, not in the checkout.
    monkeypatch.chdir(tmp_path)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(argument_lists(paths))
    def check(argv: list[str]) -> None:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:
                status = exit_.code  # type: ignore[assignment]
                assert status == EXIT_BAD_INPUT, (argv, err.getvalue())
                assert f"{PROG.rsplit(' ', 1)[0]}" in err.getvalue() and ": error: " in err.getvalue()
        assert status in (EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT), argv
        assert "Traceback" not in out.getvalue() + err.getvalue()
        if status == EXIT_BAD_INPUT and files["nested"] in argv and "--workflows" in argv and out.getvalue():
            # a run that got as far as the files names the bad one
            lines = out.getvalue().splitlines()
            assert any(files["nested"] in line for line in lines) or lines[0].startswith("error: "), lines

    check()
