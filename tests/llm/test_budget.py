"""``@pytest.mark.llm_budget``: a test that spends more tokens, requests or money fails."""

from __future__ import annotations

import math
from textwrap import dedent

import pytest
from pytester_support import INI, run_expecting

from pytest_temporal_agents.llm import (
    Budget,
    FakeLLMError,
    LLMRequest,
    Usage,
    budget_problems,
    read_budget,
)


def _request(number: int, model: str, usage: Usage | None) -> LLMRequest:
    return LLMRequest(api="openai.chat", model=model, usage=usage, number=number)


REQUESTS = [
    _request(1, "gpt-4o-mini", Usage(120, 30)),
    _request(2, "claude-haiku", Usage(80, 20)),
    _request(3, "gpt-4o-mini", None),  # refused: no usage
]


def test_within_every_limit_there_is_nothing_to_say() -> None:
    budget = Budget(
        tokens=250, requests=3, cost=1.0, prices={"gpt-4o-mini": (1, 1), "claude-haiku": (1, 1)}
    )
    assert budget_problems(REQUESTS, budget) == []
    assert budget_problems(REQUESTS, Budget()) == []


def test_each_exceeded_limit_is_named_and_the_table_follows_the_last() -> None:
    prices = {"gpt-4o-mini": (1000.0, 2000.0), "claude-haiku": (500.0, 500.0)}
    problems = budget_problems(REQUESTS, Budget(tokens=200, requests=2, cost=0.1, prices=prices))
    assert problems[0] == "llm_budget(requests=2) exceeded: 3 requests"
    assert problems[1] == "llm_budget(tokens=200) exceeded: 250 tokens (200 input, 50 output)"
    # 120*1000 + 30*2000 = 180000, 80*500 + 20*500 = 50000: 0.23 per million-token price units
    first, *table = problems[2].splitlines()
    assert first == "llm_budget(cost=0.1) exceeded: 0.23 spent"
    assert table == [
        "  requests of this test:",
        "    #  api          model         input  output  total  cost",
        "    1  openai.chat  gpt-4o-mini     120      30    150  0.18",
        "    2  openai.chat  claude-haiku     80      20    100  0.05",
        "    3  openai.chat  gpt-4o-mini       -       -      -     0",
    ]


def test_a_cost_limit_without_a_price_names_the_models() -> None:
    [problem] = budget_problems(REQUESTS, Budget(cost=1.0, prices={"gpt-4o-mini": (1, 1)}))
    assert problem.startswith(
        "llm_budget(cost=1.0) cannot price 'claude-haiku': prices= names no price"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tokens": -1}, "tokens must be a whole number >= 0"),
        ({"tokens": 1.5}, "tokens must be a whole number >= 0"),
        ({"requests": True}, "requests must be a whole number >= 0"),
        ({"cost": math.nan}, "cost must be a number >= 0"),
        ({"cost": "0.1"}, "cost must be a number >= 0"),
        ({"prices": {"m": (1,)}}, "each price must be (input, output)"),
        ({"prices": {"m": (1, -2)}}, "each price must be (input, output)"),
        ({"token": 5}, "unknown argument 'token'"),
    ],
)
def test_a_budget_that_cannot_be_one_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FakeLLMError) as refused:
        read_budget([((), kwargs)])
    assert message in str(refused.value)
    assert "for example" in str(refused.value)


def test_the_closest_marker_wins_per_limit() -> None:
    budget = read_budget([((), {"tokens": 10}), ((), {"tokens": 99, "requests": 2})])
    assert (budget.tokens, budget.requests) == (10, 2)


TESTS = dedent(
    """
    import pytest

    from pytest_temporal_agents.llm import Usage


    def ask(fake_llm, times):
        with fake_llm.openai_client() as client:
            for _ in range(times):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "risk of AAPL?"}]
                )


    @pytest.mark.llm_budget(tokens=100)
    def test_within_budget(fake_llm):
        fake_llm.reply("low", usage=Usage(40, 10))
        ask(fake_llm, 1)


    @pytest.mark.llm_budget(tokens=100, requests=1)
    def test_over_budget(fake_llm):
        fake_llm.reply("low", usage=Usage(40, 10)).reply("still low", usage=Usage(60, 15))
        ask(fake_llm, 2)


    @pytest.mark.llm_budget(tokens="lots")
    def test_not_a_budget(fake_llm):
        pass
    """
)


def test_the_fixture_fails_a_test_over_its_budget_with_the_table(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_inner=TESTS)
    result = run_expecting(pytester, passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_over_budget*",
            "*fake_llm: 2 problems:",
            "*- llm_budget(requests=1) exceeded: 2 requests",
            "*- llm_budget(tokens=100) exceeded: 125 tokens (100 input, 25 output)",
            "*requests of this test:",
            "*#  api          model        input  output  total",
            "*1  openai.chat  gpt-4o-mini     40      10     50",
            "*2  openai.chat  gpt-4o-mini     60      15     75",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of test_not_a_budget*", "*tokens must be a whole number >= 0*"]
    )
