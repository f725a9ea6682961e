"""temporalio plugins under the fixture: a payload codec that the teardown replay needs too."""

import base64
import dataclasses
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.plugin import SimplePlugin

from pytest_temporal_agents import TemporalHarness


class Base64Codec(PayloadCodec):
    """Stands in for encryption: payloads on the server are unreadable without it."""

    async def encode(self, payloads: list[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/base64"}, data=base64.b64encode(p.SerializeToString()))
            for p in payloads
        ]

    async def decode(self, payloads: list[Payload]) -> list[Payload]:
        return [Payload.FromString(base64.b64decode(p.data)) for p in payloads]


def with_codec(converter: DataConverter) -> DataConverter:
    return dataclasses.replace(converter, payload_codec=Base64Codec())


ENCRYPTION = SimplePlugin("example.base64-codec", data_converter=with_codec)


@activity.defn
async def assess_risk(symbol: str) -> float:
    return 0.2 if symbol == "AAPL" else 0.8


@workflow.defn
class RiskCheck:
    @workflow.run
    async def run(self, symbol: str) -> str:
        risk = await workflow.execute_activity(
            assess_risk, symbol, start_to_close_timeout=timedelta(seconds=10)
        )
        return "trade" if risk < 0.5 else "skip"


@pytest.mark.temporal(plugins=[ENCRYPTION])
async def test_the_plugin_runs_the_workflow_and_its_replay(temporal: TemporalHarness) -> None:
    handle = await temporal.start(RiskCheck.run, "AAPL", activities=[assess_risk])
    assert await handle.result() == "trade"
    history = await temporal.history(handle)
    stored = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert stored.metadata["encoding"] == b"binary/base64"  # the server holds encoded data
    assert (await temporal.replay(handle)).ok  # replayed with the codec, as at teardown


async def test_plugins_declared_in_the_test(temporal: TemporalHarness) -> None:
    temporal.use_plugins(ENCRYPTION)
    assert await temporal.run(RiskCheck.run, "TSLA", activities=[assess_risk]) == "skip"
