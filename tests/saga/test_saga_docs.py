"""Keep docs/reference/sagas.md true to the code (tests/docs/ checks the how-to's snippets)."""

from __future__ import annotations

from docs_support import ROOT, unnamed_parameters

from pytest_temporal_agents.saga._feature import SagaCheck, SagaFeature
from pytest_temporal_agents.strategies import saga_failures

REFERENCE = ROOT / "docs/reference/sagas.md"


def test_the_reference_names_every_parameter() -> None:
    page = REFERENCE.read_text()
    assertions = [method for name, method in vars(SagaCheck).items() if name.startswith("assert_")]
    assert len(assertions) >= 3  # assert_completed, assert_compensated, ..._idempotent_...
    signatures = [SagaFeature.saga, *assertions, saga_failures]
    missing = unnamed_parameters(signatures, lambda name: f"`{name}" in page)
    assert not missing, f"docs/reference/sagas.md does not document {missing}"
