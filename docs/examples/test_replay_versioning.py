"""A change to a running workflow: it is safe only behind workflow.patched()."""

from datetime import timedelta

from temporalio import activity, workflow

T = timedelta(seconds=10)


@activity.defn
async def fetch_price(symbol: str) -> float:
    return 101.5


@activity.defn
async def check_limits(symbol: str) -> bool:
    return True


@workflow.defn(name="Quote")
class Quote:  # the version that is running in production
    @workflow.run
    async def run(self, symbol: str) -> float:
        return await workflow.execute_activity(fetch_price, symbol, start_to_close_timeout=T)


@workflow.defn(name="Quote")
class QuoteWithLimits:  # the change, as first written
    @workflow.run
    async def run(self, symbol: str) -> float:
        await workflow.execute_activity(check_limits, symbol, start_to_close_timeout=T)
        return await workflow.execute_activity(fetch_price, symbol, start_to_close_timeout=T)


@workflow.defn(name="Quote")
class QuoteWithPatchedLimits:  # the change, made safe for runs started before it
    @workflow.run
    async def run(self, symbol: str) -> float:
        if workflow.patched("check-limits"):
            await workflow.execute_activity(check_limits, symbol, start_to_close_timeout=T)
        return await workflow.execute_activity(fetch_price, symbol, start_to_close_timeout=T)


async def test_old_histories_replay_only_against_the_patched_change(temporal, tmp_path):
    handle = await temporal.start(Quote.run, "AAPL", activities=[fetch_price])
    assert await handle.result() == 101.5
    saved = await temporal.save_history(handle, tmp_path / "quote.json")

    broken = await temporal.replay(saved, workflows=[QuoteWithLimits])
    assert broken.status == "nondeterministic" and broken.event_id == 5
    assert "The current code instead scheduled activity check_limits" in broken.report

    assert (await temporal.replay(saved, workflows=[QuoteWithPatchedLimits])).ok
