"""The "did you mean" rule: only a real near name, never the name asked for."""

from __future__ import annotations

from pytest_temporal_agents.mocks._feature import near_names


def test_a_typo_is_suggested() -> None:
    assert near_names("ResearchAgnet", {"ResearchAgent", "DeskWorkflow"}, n=1) == ["ResearchAgent"]
    assert near_names("fetch_qoute", {"fetch_quote", "audit", "place_order"}, n=3) == ["fetch_quote"]


def test_a_name_that_only_shares_a_word_is_not_suggested() -> None:
    assert near_names("ComposeWelcomeWorkflow", {"WelcomeWorkflow"}, n=1) == []
    assert near_names("ComposeGreetingWorkflow", {"GreetingWorkflow"}, n=1) == []


def test_the_name_asked_for_is_never_its_own_suggestion() -> None:
    assert near_names("GreetingWorkflow", {"GreetingWorkflow"}, n=3) == []


def test_suggestions_come_nearest_first() -> None:
    assert near_names("abcdef", {"abcdxy", "abcdez", "zzzzzz"}, n=3) == ["abcdez", "abcdxy"]
