"""Shared fixtures and constants of the agent-pattern workflow tests (import them explicitly).

Every test pins the market to ``AS_OF``: the simulator's bars depend only on their dates, so the
symbols below keep their character (which branch they take) whatever day the suite runs.
At ``AS_OF`` with 120 daily bars and the momentum strategy:

- AAPL: uptrend, the analysis says buy, risk 0.27: the agents buy.
- TSLA: high volatility, risk 0.74: above the 0.7 threshold, skipped.
- MSFT: risk 0.25 but no signal: the plan is to hold.
- PEP: sideways, mean reversion says buy, trend following holds.
- MS: uptrend; trend following says buy while mean reversion says sell.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reference_workflows.activities import ReferenceServices, create_services
from reference_workflows.workflows.trading import RetryOptions

AS_OF = datetime(2024, 6, 28, tzinfo=timezone.utc)

FAST_RETRY = RetryOptions(
    initial_interval_seconds=0.05,
    backoff_coefficient=1.0,
    maximum_interval_seconds=0.05,
    maximum_attempts=3,
)
"""Real retries, real backoff, but quick: tests wait for retries in real time."""


@pytest.fixture(name="services")
def services_fixture(tmp_path: Path) -> ReferenceServices:
    """Fresh market, paper broker (its ledger in ``tmp_path``) and agents; ``.activities()``
    gives the same 23 activities as ``create_activities``, bound to these services."""
    return create_services(ledger_path=tmp_path / "ledger.sqlite3")


REPO = Path(__file__).resolve().parents[2]
COOKBOOK = REPO / "docs" / "cookbook"


def snippet_problems(page: str, *sources: str) -> list[str]:
    """Python blocks of cookbook ``page`` that are not verbatim in any of ``sources``.

    Indentation and blank lines are ignored and a ``...`` line skips source lines, so a page
    can quote from the middle of a method; anything else must match, so the page cannot rot.
    """
    text = (COOKBOOK / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    codes = [_lines((REPO / source).read_text()) for source in sources]
    if not blocks:
        return [f"- {page} has no python block"]
    problems = []
    for block in blocks:
        parts = re.split(r"^\s*\.\.\.\s*$", block, flags=re.MULTILINE)
        chunks = [_lines(part) for part in parts]
        if not any(_contains_in_order(code, chunks) for code in codes):
            problems.append(f"- {page}: not found verbatim in {list(sources)}:\n{block}")
    return problems


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _contains_in_order(code: list[str], chunks: list[list[str]]) -> bool:
    start = 0
    for chunk in chunks:
        found = next(
            (
                i
                for i in range(start, len(code) - len(chunk) + 1)
                if code[i : i + len(chunk)] == chunk
            ),
            None,
        )
        if found is None:
            return False
        start = found + len(chunk)
    return True
