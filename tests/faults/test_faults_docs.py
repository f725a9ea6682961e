"""Keep docs/reference/faults.md and docs/how-to/faults.md true to the code (tests/docs/ checks
that every snippet of the how-to is in an example that runs)."""

from __future__ import annotations

import re

from docs_support import ROOT, unnamed_parameters

from pytest_temporal_agents import TemporalHarness, faults
from pytest_temporal_agents.faults import FaultsFeature
from pytest_temporal_agents.strategies import fault_plans

HOW_TO = ROOT / "docs/how-to/faults.md"
REFERENCE = ROOT / "docs/reference/faults.md"


def test_the_reference_names_every_phrase_method_and_parameter() -> None:
    page = REFERENCE.read_text()
    documented = [
        *(getattr(faults, name) for name in faults.PHRASES),
        FaultsFeature.inject,
        FaultsFeature.attempts,
        FaultsFeature.assert_attempts,
        TemporalHarness.isolated,
        fault_plans,
    ]
    missing = unnamed_parameters(documented, lambda name: re.search(rf"\b{name}\b", page), ignore=("self", "faults"))
    missing += [fn.__name__ for fn in documented if f"{fn.__name__}(" not in page]
    missing += [name for name in faults.__all__ if name not in page]
    assert not missing, f"docs/reference/faults.md does not document {missing}"


def test_the_guide_quotes_the_measured_figures_of_the_benchmark() -> None:
    page = HOW_TO.read_text()
    assert "benchmarks/fault_timeouts.py" in page and (ROOT / "benchmarks/fault_timeouts.py").exists()
