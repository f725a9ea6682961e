"""Re-record release 1's histories of VersionedTradingWorkflow (rarely: they stand for runs
that were open when release 2 shipped, and must keep replaying against the current code)::

    python -m pytest tests/histories/record_versioned_release_1.py -p no:randomly \
        --temporal-record-histories=tests/histories/versioned-release-1

Not collected by the suite: the file name does not start with ``test_``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.models import ExecutionStatus
from reference_workflows.workflows.trading import RetryOptions
from reference_workflows.workflows.versioned import (
    RELEASE_1,
    Release1TradingWorkflow,
    VersionedTradingInput,
)

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)
FAST = RetryOptions(initial_interval_seconds=0.05, maximum_interval_seconds=0.05, maximum_attempts=3)


@pytest.fixture
def services(tmp_path: Path) -> ReferenceServices:
    return create_services(ledger_path=tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize(
    ("symbol", "status"),
    [("AAPL", ExecutionStatus.FILLED), ("TSLA", ExecutionStatus.SKIPPED), ("MSFT", ExecutionStatus.SKIPPED)],
)
async def test_release_1(temporal, services, symbol, status):
    request = VersionedTradingInput(symbol, as_of=AS_OF, retry=FAST)
    result = await temporal.run(
        Release1TradingWorkflow.run, request, workflows=RELEASE_1, activities=services.activities()
    )
    assert result.status is status
