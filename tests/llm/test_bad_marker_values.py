"""The llm markers' kwargs: any value is accepted or refused with the marker and value named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_temporal_agents.llm import FakeLLMError
from pytest_temporal_agents.llm._budget import read_budget
from pytest_temporal_agents.llm._options import read_cassette_marker, read_markers

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.binary(max_size=5), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.one_of(st.floats(), st.tuples(st.floats(), st.floats())), max_size=2),
    st.builds(object),
)


@pytest.mark.parametrize("path", ["", " ", "."])
def test_an_empty_cassette_path_is_refused_by_name(path: str) -> None:
    with pytest.raises(FakeLLMError) as caught:
        read_cassette_marker((path,), {})
    assert str(caught.value).startswith(
        f"@pytest.mark.llm_cassette({path!r}) is invalid: path {path!r} names no file; "
        "give a cassette name such as 'checkout'."
    )


@settings(max_examples=200, deadline=None)
@given(kwargs=st.dictionaries(st.sampled_from(["tokens", "requests", "cost", "prices", "tokenz"]), ODD, max_size=3))
def test_any_llm_budget_kwargs_are_accepted_or_refused_by_name(kwargs: dict[str, Any]) -> None:
    try:
        read_budget([((), kwargs)])
    except FakeLLMError as err:
        assert str(err).startswith("@pytest.mark.llm_budget(")
        assert any(f"{key}=" in str(err) for key in kwargs)


@settings(max_examples=100, deadline=None)
@given(value=ODD)
def test_any_allow_unused_is_accepted_or_refused_by_name(value: Any) -> None:
    try:
        marker = read_markers([((), {"allow_unused": value})])
    except FakeLLMError as err:
        assert str(err).startswith("@pytest.mark.fake_llm(allow_unused=")
    else:
        assert marker.allow_unused is value


@settings(max_examples=200, deadline=None)
@given(args=st.lists(ODD, max_size=2), kwargs=st.dictionaries(st.sampled_from(["path", "record", "recrod"]), ODD, max_size=2))
def test_any_llm_cassette_arguments_are_accepted_or_refused_by_name(args: list[Any], kwargs: dict[str, Any]) -> None:
    try:
        marker = read_cassette_marker(tuple(args), kwargs)
    except FakeLLMError as err:
        assert str(err).startswith("@pytest.mark.llm_cassette(")
    else:
        assert marker.path is None or marker.path.strip(" .")
        assert marker.record in (None, "none", "new", "all")
