"""Absurd option, ini and marker values: always a clean usage error naming the input.

A table of known-bad values with their exact messages, Hypothesis properties over the
validators themselves (cheap: no nested pytest per example), and a few nested runs end to
end (exit code 4, no INTERNALERROR, no traceback).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from textwrap import dedent
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytester_support import run_expecting

from pytest_temporal_agents._errors import TemporalConfigError
from pytest_temporal_agents.harness._options import (
    MAX_TIMEOUT,
    merge_markers,
    parse_limit,
    parse_timeout,
    resolve_replay_settings,
    resolve_settings,
)

RANGE = "Give a number of seconds from 0.001 to 31536000 (one year)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e300", f"Invalid Temporal timeout '1e300' for --temporal-timeout: it is longer than a year. {RANGE}"),
        (1e300, f"Invalid Temporal timeout 1e+300 for --temporal-timeout: it is longer than a year. {RANGE}"),
        (10**400, f"Invalid Temporal timeout {'1' + '0' * 56}... for --temporal-timeout: it is longer than a year. {RANGE}"),
        ("nan", f"Invalid Temporal timeout 'nan' for --temporal-timeout: it is not a number (NaN). {RANGE}"),
        ("-1", f"Invalid Temporal timeout '-1' for --temporal-timeout: it must be greater than 0. {RANGE}"),
        ("-inf", f"Invalid Temporal timeout '-inf' for --temporal-timeout: it must be greater than 0. {RANGE}"),
        ("inf", f"Invalid Temporal timeout 'inf' for --temporal-timeout: it is longer than a year. {RANGE}"),
        ("1e-300", f"Invalid Temporal timeout '1e-300' for --temporal-timeout: it is shorter than a millisecond. {RANGE}"),
        ("", f"Invalid Temporal timeout '' for --temporal-timeout: it is not a number. {RANGE}"),
        (True, f"Invalid Temporal timeout True for --temporal-timeout: a bool is not a duration. {RANGE}"),
        (b"1", f"Invalid Temporal timeout b'1' for --temporal-timeout: a bytes is not a duration. {RANGE}"),
        ([1], f"Invalid Temporal timeout [1] for --temporal-timeout: a list is not a duration. {RANGE}"),
        (timedelta.max, ("Invalid Temporal timeout datetime.timedelta(days=999999999, seconds=86399, microse... "
         f"for --temporal-timeout: it is longer than a year. {RANGE}")),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_bad_timeouts_name_the_value_and_the_range(value: Any, message: str) -> None:
    with pytest.raises(TemporalConfigError) as caught:
        parse_timeout(value, "--temporal-timeout")
    assert str(caught.value) == message + ", such as 30 or 2.5, or a datetime.timedelta in that range."


def test_timeouts_at_the_edges_of_the_range_are_accepted() -> None:
    assert parse_timeout("0.001", "x") == timedelta(milliseconds=1)
    assert parse_timeout(MAX_TIMEOUT, "x") == MAX_TIMEOUT
    assert parse_timeout(" 2.5 ", "x") == timedelta(seconds=2.5)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "1e3", "١٢", "99999999999999999999", "many"])
def test_bad_replay_limits_name_the_value_and_the_range(value: str) -> None:
    with pytest.raises(TemporalConfigError) as caught:
        parse_limit(value, "--temporal-replay-limit")
    assert str(caught.value) == (
        f"Invalid --temporal-replay-limit {value!r}: expected a whole number of histories from 1 to "
        "1000000 (default 100)."
    )


VALID = "Valid keyword arguments: env, timeout, time_skipping, freeze_activity_clock, replay_check, plugins, start_time."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": 1}, ("@pytest.mark.temporal(env=1) is invalid: a value of type int is not accepted. "
         "env takes a string: 'time-skipping', 'local', 'external' or HOST:PORT.")),
        ({"env": b"local"}, ("@pytest.mark.temporal(env=b'local') is invalid: a value of type bytes is not "
         "accepted. env takes a string: 'time-skipping', 'local', 'external' or HOST:PORT.")),
        ({"time_skipping": "yes"}, ("@pytest.mark.temporal(time_skipping='yes') is invalid: a value of type "
         "str is not accepted. time_skipping takes True or False.")),
        ({"freeze_activity_clock": None}, ("@pytest.mark.temporal(freeze_activity_clock=None) is invalid: a "
         "value of type NoneType is not accepted. freeze_activity_clock takes True or False.")),
        ({"plugins": "abc"}, ("@pytest.mark.temporal(plugins='abc') is invalid: a value of type str is not "
         "accepted. plugins takes a list or tuple of temporalio plugins.")),
        ({"timout": 3}, (f"@pytest.mark.temporal(timout=...) is invalid: unknown argument 'timout'.\n{VALID} "
         "Did you mean 'timeout'?")),
        ({"colour": 3}, f"@pytest.mark.temporal(colour=...) is invalid: unknown argument 'colour'.\n{VALID}"),
        ({"start_time": datetime(2024, 1, 1)}, ("@pytest.mark.temporal(start_time=datetime.datetime(2024, 1, 1, "
         "0, 0)) is invalid: it has no time zone, so it could mean any instant.\nGive a timezone-aware "
         "datetime, for example\nstart_time=datetime(2024, 1, 31, 16, 0, tzinfo=timezone.utc).")),
    ],
)
def test_bad_marker_kwargs_name_the_kwarg_the_value_and_what_is_accepted(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemporalConfigError) as caught:
        merge_markers([((), kwargs)])
    assert str(caught.value) == message


# -- properties: any value is accepted or refused cleanly, with the input named -----------------

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.binary(max_size=10), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.timedeltas(), st.datetimes(timezones=st.none() | st.just(timezone.utc)), st.builds(object),
)
OPTION_TEXT = st.one_of(
    st.text(max_size=40), st.from_regex(r"-?[0-9]{1,400}(\.[0-9]*)?(e-?[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["nan", "inf", "-inf", "1e300", "0", "-0", "time-skipping", "local", "h:1", "true"]),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["temporal_timeout", "temporal_env", "temporal_tls", "temporal_replay_limit",
                             "temporal_replay_check"]),
       value=OPTION_TEXT, from_ini=st.booleans())
def test_any_option_value_is_accepted_or_a_config_error_naming_it(name: str, value: str, from_ini: bool) -> None:
    def option(n: str) -> Any:
        return value if n == name and not from_ini else None

    def ini(n: str) -> Any:
        return value if n == name and from_ini else None

    try:
        resolved = resolve_settings(option, ini, environ={})
        resolve_replay_settings(option, ini)
    except TemporalConfigError as err:
        source = f"ini option {name}" if from_ini else "--" + name.replace("_", "-")
        assert source in str(err) or name in str(err)
        assert len(str(err)) < 800
    else:
        assert timedelta(milliseconds=1) <= resolved.timeout <= MAX_TIMEOUT


@settings(max_examples=300, deadline=None)
@given(kwargs=st.dictionaries(
    st.sampled_from(["env", "timeout", "time_skipping", "freeze_activity_clock", "replay_check", "plugins",
                     "start_time", "timout", "bogus"]),
    ODD, max_size=3,
))
def test_any_marker_kwargs_are_accepted_or_a_config_error_naming_the_kwarg(kwargs: dict[str, Any]) -> None:
    try:
        marker = merge_markers([((), kwargs)])
    except TemporalConfigError as err:
        assert "@pytest.mark.temporal" in str(err)
        assert any(f"({key}=" in str(err) or f"{key}=..." in str(err) for key in kwargs)
        assert len(str(err)) < 800
    else:
        assert isinstance(marker.time_skipping, bool) and isinstance(marker.freeze_activity_clock, bool)
        if marker.timeout is not None:
            assert isinstance(marker.timeout, timedelta) and not math.isnan(marker.timeout.total_seconds())


# -- end to end: exit code 4 at start-up, a failed test for a marker, never a traceback ---------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temporal-timeout=1e300"], "ERROR: Invalid Temporal timeout '1e300' for --temporal-timeout: it is longer than a year.*"),
        (["--temporal-timeout=nan"], "ERROR: Invalid Temporal timeout 'nan' for --temporal-timeout: it is not a number (NaN).*"),
        (["--temporal-replay-limit=99999999999999999999"], "ERROR: Invalid --temporal-replay-limit '99999999999999999999'*"),
    ],
)
def test_absurd_options_end_in_a_usage_error(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_marker_kwargs_of_odd_types_fail_the_test_by_name(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_marker=dedent(
            """
            import pytest

            @pytest.mark.temporal(timeout=1e300)
            async def test_huge(temporal):
                pass

            @pytest.mark.temporal(env=b"local")
            async def test_bytes(temporal):
                pass

            @pytest.mark.temporal(time_skipping="yes")
            async def test_string_flag(temporal):
                pass
            """
        )
    )
    result = run_expecting(inner, errors=3)
    result.stdout.fnmatch_lines_random([
        "*Invalid Temporal timeout 1e+300 for @pytest.mark.temporal(timeout=...): it is longer than a year*",
        "*@pytest.mark.temporal(env=b'local') is invalid: a value of type bytes is not accepted*",
        "*@pytest.mark.temporal(time_skipping='yes') is invalid*",
    ])
    assert "INTERNALERROR" not in result.stdout.str()
    assert "_options.py" not in result.stdout.str()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/nonexistent-dir/x/state.db", "its directory '/nonexistent-dir/x' does not exist"),
        (".", "it names no file"),  # "" is unset: a scratch file
    ],
)
def test_a_dev_server_database_in_no_directory_is_a_usage_error(value: str, problem: str) -> None:
    with pytest.raises(TemporalConfigError) as caught:
        resolve_settings(lambda n: value if n == "temporal_dev_server_db" else None, lambda n: None, environ={})
    assert str(caught.value) == (
        f"Invalid --temporal-dev-server-db {value!r}: {problem}. Give a file path in an existing "
        "directory (the file is created if missing), or leave it unset."
    )


def test_a_dev_server_database_in_an_existing_directory_is_accepted(tmp_path: Any) -> None:
    path = str(tmp_path / "state.db")
    resolved = resolve_settings(lambda n: path if n == "temporal_dev_server_db" else None, lambda n: None, environ={})
    assert resolved.server.dev_server_db == path


def test_a_dev_server_database_in_no_directory_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--temporal-env=local", "--temporal-dev-server-db=/nonexistent-dir/state.db")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: Invalid --temporal-dev-server-db '/nonexistent-dir/state.db': its directory '/nonexistent-dir' *"]
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('temporal_namespace = ["a"]', ("ERROR: Invalid ini option temporal_namespace ['a']: a list is not accepted; "
         'give one value as a string, for example temporal_namespace = "...".')),
        ('temporal_report = ["a.html"]', "ERROR: Invalid ini option temporal_report ['a.html']: a list is not accepted; "),
        ("temporal_timeout = 1e300", "ERROR: Invalid Temporal timeout '1e+300' for ini option temporal_timeout: "),
    ],
)
def test_toml_values_of_the_wrong_shape_are_usage_errors(pytester: pytest.Pytester, line: str, message: str) -> None:
    pytester.makepyprojecttoml(f"[tool.pytest.ini_options]\n{line}\n")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()
