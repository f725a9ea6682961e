"""Small workflows whose recorded histories the replay tests replay (not the reference system).

``Pricer`` is the version that recorded ``histories/``. ``PricerRiskCheck`` is the same
workflow after a change that adds a risk check before the quotes, made without
``workflow.patched``: the recorded histories no longer replay. ``PricerRiskCheckPatched``
makes the same change behind ``workflow.patched("risk-check")``: they replay again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=10)


@activity.defn
async def fetch_quote(symbol: str) -> float:
    return 100.0 + len(symbol)


@activity.defn
async def check_risk(symbols: list[str]) -> bool:
    return len(symbols) < 10


@activity.defn
async def place_order(symbol: str) -> str:
    return f"filled {symbol}"


ACTIVITIES = [fetch_quote, check_risk, place_order]


@workflow.defn(name="Analyze")
class Analyze:
    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.sleep(timedelta(minutes=5))
        return f"{symbol}: buy"


async def _quote_and_order(symbols: list[str]) -> dict[str, float]:
    prices = {}
    for symbol in sorted(symbols):
        prices[symbol] = await workflow.execute_activity(fetch_quote, symbol, start_to_close_timeout=TIMEOUT)
    await workflow.sleep(timedelta(hours=1))
    best = max(prices, key=prices.__getitem__)
    await workflow.execute_child_workflow(Analyze.run, best, id=f"{workflow.info().workflow_id}-analyze")
    await workflow.execute_activity(place_order, best, start_to_close_timeout=TIMEOUT)
    return prices


@workflow.defn(name="Pricer")
class Pricer:
    @workflow.run
    async def run(self, symbols: list[str]) -> dict[str, float]:
        return await _quote_and_order(symbols)


@workflow.defn(name="Pricer")
class PricerRiskCheck:
    @workflow.run
    async def run(self, symbols: list[str]) -> dict[str, float]:
        if not await workflow.execute_activity(check_risk, symbols, start_to_close_timeout=TIMEOUT):
            return {}
        return await _quote_and_order(symbols)


@workflow.defn(name="Pricer")
class PricerRiskCheckPatched:
    @workflow.run
    async def run(self, symbols: list[str]) -> dict[str, float]:
        # Old runs never checked: only runs that start after this change do.
        if workflow.patched("risk-check") and not await workflow.execute_activity(
            check_risk, symbols, start_to_close_timeout=TIMEOUT
        ):
            return {}
        return await _quote_and_order(symbols)


V1 = [Pricer, Analyze]
UNPATCHED = [PricerRiskCheck, Analyze]
PATCHED = [PricerRiskCheckPatched, Analyze]
