"""The cookbook's index lists every runnable pattern, and every link in it leads to a page."""

from __future__ import annotations

import re

from reference_fixtures import COOKBOOK

from reference_workflows.patterns import PATTERNS


def test_every_pattern_is_listed_with_its_workflow() -> None:
    index = (COOKBOOK / "index.md").read_text()

    for pattern in PATTERNS:
        workflow = pattern.workflow.partition(":")[2]
        assert f"| `{pattern.name}` | `{workflow}`" in index, pattern.name


def test_every_link_leads_to_a_page() -> None:
    index = (COOKBOOK / "index.md").read_text()
    links = re.findall(r"\]\(([^)#]+\.md)\)", index)

    assert len(links) >= len(PATTERNS)
    assert [link for link in links if not (COOKBOOK / link).is_file()] == []
