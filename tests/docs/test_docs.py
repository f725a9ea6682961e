"""Keep README and docs/ true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_temporal_agents.harness._options import MARKER_SIGNATURE, OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXAMPLE_BLOCK = re.compile(r"<!-- example: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.S)
LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_embedded_examples_match_their_files(doc: Path) -> None:
    for match in EXAMPLE_BLOCK.finditer(doc.read_text()):
        source = (ROOT / match["path"]).read_text()
        assert match["code"].strip() == source.strip(), f"{doc.name} embeds a stale copy of {match['path']}"


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = [
        m["target"]
        for m in LINK.finditer(doc.read_text())
        if not re.match(r"[a-z]+:", m["target"]) and not (doc.parent / m["target"]).exists()
    ]
    assert not broken, f"{doc.relative_to(ROOT)} links to missing files: {broken}"


def test_every_option_is_documented() -> None:
    page = (ROOT / "docs/reference/options.md").read_text()
    missing = [spec.flag for spec in OPTIONS if f"`{spec.flag}`" not in page or f"`{spec.name}`" not in page]
    assert not missing, f"docs/reference/options.md does not document {missing}"


def test_marker_signature_is_documented() -> None:
    page = (ROOT / "docs/reference/options.md").read_text()
    assert f"@pytest.mark.{MARKER_SIGNATURE}" in page
