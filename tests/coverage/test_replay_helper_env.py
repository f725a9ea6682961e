"""The replay helper interpreter starts without coverage's start-up variables (unit level)."""

from __future__ import annotations

from pytest_temporal_agents.replay._coverage import COVERAGE_START_VARIABLES, unmeasured_environment


def test_every_variable_that_starts_coverage_in_a_child_is_dropped() -> None:
    environ = {name: "set" for name in COVERAGE_START_VARIABLES}
    environ.update(PATH="/usr/bin", PYTHONPATH="/src", COVERAGE_FILE="/data/.coverage")

    env = unmeasured_environment(environ)

    # COVERAGE_FILE alone starts nothing; it stays, as everything else does.
    assert env == {"PATH": "/usr/bin", "PYTHONPATH": "/src", "COVERAGE_FILE": "/data/.coverage"}
    assert "COVERAGE_PROCESS_CONFIG" in environ  # the caller's mapping is left as it was


def test_the_variables_are_the_ones_coverage_and_its_pth_file_read() -> None:
    import inspect

    import coverage.control

    startup = inspect.getsource(coverage.control.process_startup)
    read_by_coverage = {"COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"}
    assert all(name in startup for name in read_by_coverage), (
        "coverage.process_startup reads other variables now"
    )
    assert read_by_coverage <= COVERAGE_START_VARIABLES
