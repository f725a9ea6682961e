"""Re-record ``histories/`` from ``tests/support/replay_fixture_workflows.py`` (only when
``Pricer`` itself changes on purpose)::

    python -m pytest tests/histories_fixture/record_fixture_histories.py -p no:randomly \
        --temporal-record-histories=tests/histories_fixture/histories

Not collected by the suite (the file name does not start with ``test_``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from replay_fixture_workflows import ACTIVITIES, V1, Pricer


async def test_two_symbols(temporal):
    assert await temporal.run(Pricer.run, ["MSFT", "AAPL"], workflows=V1, activities=ACTIVITIES)


async def test_one_symbol(temporal):
    assert await temporal.run(Pricer.run, ["NVDA"], workflows=V1, activities=ACTIVITIES)
