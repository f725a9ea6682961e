"""Quickstart: a workflow, its activity, and three tests with the ``temporal`` fixture."""

from datetime import timedelta

from temporalio import activity, workflow

from pytest_temporal_agents import TemporalHarness


@activity.defn
async def fetch_price(symbol: str) -> float:
    return {"AAPL": 189.5, "TSLA": 242.0}.get(symbol, 10.0)


@workflow.defn
class PriceAlertWorkflow:
    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.sleep(timedelta(days=30))  # skipped at once by the test server
        price = await workflow.execute_activity(
            fetch_price, symbol, start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{symbol} is {'above' if price > 100 else 'below'} 100"


async def test_alert_after_a_month(temporal: TemporalHarness) -> None:
    result = await temporal.run(PriceAlertWorkflow.run, "AAPL", activities=[fetch_price])
    assert result == "AAPL is above 100"


async def test_the_history_shows_the_month(temporal: TemporalHarness) -> None:
    handle = await temporal.start(PriceAlertWorkflow.run, "TSLA", activities=[fetch_price])
    assert await handle.result() == "TSLA is above 100"
    history = await temporal.history(handle)
    assert [timer.duration for timer in history.timers()] == [timedelta(days=30)]
    assert [a.name for a in history.activities()] == ["fetch_price"]
    print(history.timeline())
