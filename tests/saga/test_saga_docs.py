"""Keep docs/how-to/sagas.md and docs/reference/sagas.md true to the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from pytest_temporal_agents.saga._feature import SagaCheck, SagaFeature
from pytest_temporal_agents.strategies import saga_failures

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs/how-to/sagas.md"
REFERENCE = ROOT / "docs/reference/sagas.md"
EXAMPLES = [ROOT / "docs/examples/test_sagas.py", ROOT / "docs/examples/trip_saga.py"]
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)


def test_every_python_snippet_of_the_how_to_is_in_an_example_that_runs() -> None:
    examples = "\n".join(path.read_text() for path in EXAMPLES)
    blocks = [m["code"].strip() for m in PYTHON_BLOCK.finditer(HOW_TO.read_text())]
    assert len(blocks) >= 6
    stale = [block.splitlines()[0] for block in blocks if block not in examples]
    assert not stale, f"docs/how-to/sagas.md has snippets that no example file contains: {stale}"


def test_the_reference_names_every_parameter() -> None:
    page = REFERENCE.read_text()
    signatures = [
        SagaFeature.saga,
        SagaCheck.assert_completed,
        SagaCheck.assert_compensated,
        SagaCheck.assert_idempotent_compensations,
        saga_failures,
    ]
    missing = [
        f"{fn.__name__}({name})"
        for fn in signatures
        for name in inspect.signature(fn).parameters
        if name != "self" and f"`{name}" not in page
    ]
    assert not missing, f"docs/reference/sagas.md does not document {missing}"
