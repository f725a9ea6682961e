"""A budget on what an agent's model calls may spend."""

import openai
import pytest

from pytest_temporal_agents import FakeLLM
from pytest_temporal_agents.llm import Usage


def analyse(symbol: str) -> str:
    """The code under test: one model call, with a client configured from the environment."""
    with openai.OpenAI() as client:
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"Risk of {symbol}?"}]
        )
    return answer.choices[0].message.content or ""


@pytest.mark.llm_budget(tokens=2_000, requests=1, cost=0.001, prices={"gpt-4o-mini": (0.15, 0.60)})
def test_the_analyst_stays_within_its_budget(fake_llm: FakeLLM) -> None:
    fake_llm.reply("low risk", usage=Usage(input_tokens=900, output_tokens=40))
    assert analyse("AAPL") == "low risk"
    assert fake_llm.usage.total_tokens == 940  # what the budget summed
