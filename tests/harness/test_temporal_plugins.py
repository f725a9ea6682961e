"""temporalio plugins under the fixture: client, workers and the teardown replay share them."""

from __future__ import annotations

from textwrap import dedent

import pytest

PLUGINS = dedent(
    '''
    """A plugin of each kind a real integration brings: a payload codec and a sandbox passthrough."""

    import base64
    import dataclasses

    from temporalio.api.common.v1 import Payload
    from temporalio.converter import DataConverter, PayloadCodec
    from temporalio.plugin import SimplePlugin


    class Base64Codec(PayloadCodec):
        """Every payload wrapped, so a replayer without the codec cannot read an argument."""

        async def encode(self, payloads):
            return [
                Payload(metadata={"encoding": b"binary/base64"}, data=base64.b64encode(p.SerializeToString()))
                for p in payloads
            ]

        async def decode(self, payloads):
            return [Payload.FromString(base64.b64decode(p.data)) for p in payloads]


    def with_codec(converter: DataConverter) -> DataConverter:
        # As the Agents SDK's plugin does, refuse a converter this plugin configured already:
        # a replay must hand plugins the converter the client started with.
        if isinstance(converter.payload_codec, Base64Codec):
            raise ValueError("with_codec: this converter already has the codec")
        return dataclasses.replace(converter, payload_codec=Base64Codec())


    def with_passthrough(runner):
        return dataclasses.replace(
            runner, restrictions=runner.restrictions.with_passthrough_modules("pricing_table")
        )


    CODEC = SimplePlugin("test.base64-codec", data_converter=with_codec)
    PASSTHROUGH = SimplePlugin("test.pricing-passthrough", workflow_runner=with_passthrough)
    '''
)

# Read at import: in the sandbox each run re-imports it and the read is forbidden, unless a
# plugin passes the module through (as integrations pass their SDKs through).
PRICING_TABLE = dedent(
    """
    import pathlib

    PRICES = {"AAPL": 190.0}
    SOURCE = pathlib.Path(__file__).read_text()[:10]
    """
)

WORKFLOWS = dedent(
    '''
    from datetime import timedelta

    from temporalio import activity, workflow

    with workflow.unsafe.imports_passed_through():
        from plugins_under_test import CODEC, PASSTHROUGH

    import pricing_table


    @activity.defn
    async def quote(symbol: str) -> float:
        return pricing_table.PRICES[symbol]


    @workflow.defn
    class Quote:
        @workflow.run
        async def run(self, symbol: str) -> float:
            return await workflow.execute_activity(quote, symbol, start_to_close_timeout=timedelta(seconds=5))
    '''
)

TESTS = dedent(
    '''
    import pytest

    from pytest_temporal_agents import HarnessUsageError, replay_histories
    from plugin_workflows import CODEC, PASSTHROUGH, Quote, quote


    @pytest.mark.temporal(plugins=[CODEC, PASSTHROUGH])
    async def test_the_marker_plugins_reach_client_worker_and_teardown_replay(temporal):
        handle = await temporal.start(Quote.run, "AAPL", activities=[quote])
        assert await handle.result() == 190.0
        history = await temporal.history(handle)
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.input.payloads[0].metadata["encoding"] == b"binary/base64"
        # Without the plugins a replay cannot even read the input: the teardown replay
        # (replay_check on by default) passes only because it replays with them.
        [bare] = await replay_histories([("bare", history)], [Quote])
        assert not bare.ok
        assert (await temporal.replay(handle)).ok


    async def test_use_plugins_before_the_first_worker(temporal):
        temporal.use_plugins(CODEC, PASSTHROUGH)
        assert await temporal.run(Quote.run, "AAPL", activities=[quote]) == 190.0


    async def test_an_isolated_scope_keeps_the_plugins(temporal):
        temporal.use_plugins(CODEC, PASSTHROUGH)
        async with temporal.isolated() as scope:
            assert await scope.run(Quote.run, "AAPL", activities=[quote]) == 190.0


    async def test_plugins_after_a_worker_started_are_refused(temporal):
        temporal.use_plugins(PASSTHROUGH)
        await temporal.run(Quote.run, "AAPL", activities=[quote])
        with pytest.raises(HarnessUsageError, match="came after a worker or workflow of this test started"):
            temporal.use_plugins(CODEC)


    async def test_something_that_is_no_plugin_is_refused(temporal):
        with pytest.raises(HarnessUsageError, match="that is not a temporalio plugin"):
            temporal.use_plugins("OpenAIAgentsPlugin")


    async def test_without_the_passthrough_the_sandbox_refuses_the_module(temporal):
        temporal.use_plugins(CODEC)  # the control: the passthrough plugin is what lets it run
        with pytest.raises(RuntimeError, match="Failed validating workflow Quote"):
            await temporal.run(Quote.run, "AAPL", activities=[quote])


    @pytest.mark.temporal(plugins=["not a plugin"])
    async def test_a_marker_plugin_that_is_no_plugin(temporal):
        pass
    '''
)


def test_plugins_configure_client_workers_and_the_teardown_replay(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        plugins_under_test=PLUGINS, pricing_table=PRICING_TABLE, plugin_workflows=WORKFLOWS, test_inner=TESTS
    )
    result = inner.runpytest("-p", "no:randomly", "-v")
    result.stdout.fnmatch_lines(
        [
            "*test_a_marker_plugin_that_is_no_plugin ERROR*",
            "*@pytest.mark.temporal(plugins=...): temporal.use_plugins('not a plugin'): that is not a "
            "temporalio plugin*",
        ]
    )
    result.assert_outcomes(passed=6, errors=1)
