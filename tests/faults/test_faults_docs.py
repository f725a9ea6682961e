"""Keep docs/how-to/faults.md and docs/reference/faults.md true to the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from pytest_temporal_agents import TemporalHarness, faults
from pytest_temporal_agents.faults import FaultsFeature
from pytest_temporal_agents.strategies import fault_plans

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs/how-to/faults.md"
REFERENCE = ROOT / "docs/reference/faults.md"
EXAMPLES = [ROOT / "docs/examples/test_fault_injection.py", ROOT / "docs/examples/fault_desk.py"]
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)


def test_every_python_snippet_of_the_how_to_is_in_an_example_that_runs() -> None:
    examples = "\n".join(path.read_text() for path in EXAMPLES)
    blocks = [m["code"].strip() for m in PYTHON_BLOCK.finditer(HOW_TO.read_text())]
    assert len(blocks) >= 8
    stale = [block.splitlines()[0] for block in blocks if block not in examples]
    assert not stale, f"docs/how-to/faults.md has snippets that no example file contains: {stale}"


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
    missing = [
        f"{fn.__name__}({name})"
        for fn in documented
        for name in inspect.signature(fn).parameters
        if name not in ("self", "faults") and not re.search(rf"\b{name}\b", page)
    ]
    missing += [fn.__name__ for fn in documented if f"{fn.__name__}(" not in page]
    missing += [name for name in faults.__all__ if name not in page]
    assert not missing, f"docs/reference/faults.md does not document {missing}"


def test_the_guide_quotes_the_measured_figures_of_the_benchmark() -> None:
    page = HOW_TO.read_text()
    assert "benchmarks/fault_timeouts.py" in page and (ROOT / "benchmarks/fault_timeouts.py").exists()
