"""The cookbook: its index lists every runnable pattern, every link in it leads to a page, and
every page quotes the real code.

A page quotes its pattern's module (the last column of its row in the index) and the tests of
that module; the pages of the trading workflows also quote what those share with the other
patterns (``SHARED``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reference_workflows.patterns import PATTERNS

REPO = Path(__file__).resolve().parents[2]
COOKBOOK = REPO / "docs" / "cookbook"
INDEX = (COOKBOOK / "index.md").read_text()
#: (page, module of its pattern), from the index's rows.
PAGES = re.findall(r"^\| \[[^\]]+\]\(([\w-]+\.md)\).*\| `(\w+\.py)` \|$", INDEX, flags=re.M)
#: Modules of reference_workflows/workflows/ that a pattern's module shares code from.
SHARED = {"trading.py": ["common.py", "steps.py"]}


def test_every_pattern_is_listed_with_its_workflow() -> None:
    for pattern in PATTERNS:
        workflow = pattern.workflow.partition(":")[2]
        assert f"| `{pattern.name}` | `{workflow}`" in INDEX, pattern.name


def test_every_link_leads_to_a_page() -> None:
    links = re.findall(r"\]\(([^)#]+\.md)\)", INDEX)

    assert len(links) >= len(PATTERNS)
    assert [link for link in links if not (COOKBOOK / link).is_file()] == []
    # Every page of the cookbook's is checked below: its row names its module.
    assert {page for page, _ in PAGES} == {link for link in links if "/" not in link}


@pytest.mark.parametrize(("page", "module"), PAGES, ids=[page for page, _ in PAGES])
def test_every_page_quotes_the_real_code(page: str, module: str) -> None:
    workflows = [f"reference_workflows/workflows/{m}" for m in [module, *SHARED.get(module, [])]]
    tests = f"tests/reference/test_wf_{module}"
    sources = [*workflows, tests] if (REPO / tests).is_file() else workflows

    assert snippet_problems(page, *sources) == []


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
