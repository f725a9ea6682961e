"""The teardown replay of an Agents SDK workflow replays with the real OpenAIAgentsPlugin.

Without the plugin's configuration a replay of such a history fails for reasons that have
nothing to do with the workflow's determinism (its sandbox re-imports the SDKs the plugin
passes through, its converter cannot read the plugin's payloads); the harness's replay
does not. Replacing ``temporal.client`` by hand, as a port of the official samples' tests
would, is refused with the way to give the harness the plugin instead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from agents_sdk_agent import StockAnalyst, get_price
from temporalio.client import Client
from temporalio.contrib.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from pytest_temporal_agents import FakeLLM, HarnessUsageError, TemporalHarness, replay_histories

PARAMS = ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30))


def script(fake_llm: FakeLLM) -> None:
    fake_llm.reply_tool_call("get_price", {"symbol": "AAPL"})
    fake_llm.reply("AAPL trades at $189.50.")


# The bare replay's sandbox re-imports what the plugin would pass through, and says so.
@pytest.mark.filterwarnings("ignore:Module .* was imported after initial workflow load")
@pytest.mark.temporal(plugins=[OpenAIAgentsPlugin(PARAMS)])
async def test_the_replay_needs_the_plugin_and_the_harness_gives_it(
    temporal: TemporalHarness, fake_llm: FakeLLM
) -> None:
    script(fake_llm)
    handle = await temporal.start(StockAnalyst.run, "AAPL?", activities=[get_price])
    await handle.result()
    history = await temporal.history(handle)

    [bare] = await replay_histories([("bare", history)], [StockAnalyst])
    assert not bare.ok  # the control: a replayer without the plugin cannot replay it

    assert (await temporal.replay(handle)).ok  # as the teardown replays it


async def test_overwriting_the_client_says_how_to_add_the_plugin(temporal: TemporalHarness) -> None:
    # What a port of the official samples' tests tries first: rebuild the client with the
    # plugin. The workers would get it, the harness's reads and replay would not.
    config = temporal.client.config()
    config["plugins"] = [*config["plugins"], OpenAIAgentsPlugin(PARAMS)]
    with pytest.raises(HarnessUsageError, match=r"temporal.use_plugins\(plugin\)") as refused:
        temporal.client = Client(**config)
    assert "@pytest.mark.temporal(plugins=[plugin])" in str(refused.value)
    assert "OpenAIAgentsPlugin" not in repr(temporal.client.config()["plugins"])
