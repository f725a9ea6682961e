"""The Agents SDK's trace export stays off the network while ``fake_llm`` is active.

The SDK posts its traces to api.openai.com (its own endpoint, not ``OPENAI_BASE_URL``) with
``OPENAI_API_KEY``: under the fake, the prompts of a test and the fake's dummy key. The
exporter's HTTP client is replaced here by a recorder, so a regression shows as a recorded
post instead of reaching the network.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from agents.tracing import processors
from agents_sdk_agent import StockAnalyst, get_price
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from pytest_temporal_agents import FakeLLM, TemporalHarness
from pytest_temporal_agents.llm import FakeLLM as StandaloneFake

PLUGIN = OpenAIAgentsPlugin(ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)))


class _Accepted:
    status_code = 200


@pytest.fixture
def trace_posts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the SDK's default trace exporter would have posted to."""
    posts: list[str] = []

    def post(**request: Any) -> _Accepted:
        posts.append(request["url"])
        return _Accepted()

    monkeypatch.setattr(processors.default_exporter()._client, "post", post)
    return posts


@pytest.mark.temporal(plugins=[PLUGIN])
async def test_an_agent_run_under_the_fake_exports_no_trace(
    temporal: TemporalHarness, fake_llm: FakeLLM, trace_posts: list[str]
) -> None:
    fake_llm.reply("AAPL trades at $189.50.")
    assert (
        await temporal.run(StockAnalyst.run, "AAPL?", activities=[get_price])
        == "AAPL trades at $189.50."
    )

    processors.default_processor().force_flush()  # what the exporter's thread does every 5 s

    assert trace_posts == []


def test_the_switch_is_set_while_active_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_AGENTS_DISABLE_TRACING", raising=False)
    with StandaloneFake():
        assert os.environ["OPENAI_AGENTS_DISABLE_TRACING"] == "true"
    assert "OPENAI_AGENTS_DISABLE_TRACING" not in os.environ
