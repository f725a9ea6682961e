"""Workflows whose histories benchmarks/replay.py records and replays (and ``TwoStep``, the
small workflow both sides of benchmarks/overhead.py run).

``Pricer`` (quotes, a timer, a child workflow and an order: 25-40 events) is the replay
tests' own, from tests/support/replay_fixture_workflows.py, which replay.py puts on
sys.path. Only temporalio is imported here and there: the sandbox re-imports both modules
for every replayed history, on both paths.
"""

from __future__ import annotations

from replay_fixture_workflows import TIMEOUT, Analyze, Pricer, fetch_quote, place_order
from temporalio import workflow


@workflow.defn
class TwoStep:
    """Two activities: about 17 events."""

    @workflow.run
    async def run(self, symbol: str) -> str:
        await workflow.execute_activity(fetch_quote, symbol, start_to_close_timeout=TIMEOUT)
        return await workflow.execute_activity(place_order, symbol, start_to_close_timeout=TIMEOUT)


WORKFLOWS = [Pricer, Analyze, TwoStep]
ACTIVITIES = [fetch_quote, place_order]
