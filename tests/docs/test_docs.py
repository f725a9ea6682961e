"""Keep README and docs/ true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_support import ROOT

from pytest_temporal_agents.harness._options import MARKER_SIGNATURE, OPTIONS

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXAMPLE_BLOCK = re.compile(r"<!-- example: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.S)
LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)
#: How-to guides whose every Python snippet is quoted from example files that run as tests:
#: the guide, those files, and how many snippets the guide has at least.
GUIDES_QUOTING_EXAMPLES = [
    (
        "docs/how-to/faults.md",
        ["docs/examples/test_fault_injection.py", "docs/examples/fault_desk.py", "docs/examples/test_model_faults.py"],
        8,
    ),
    ("docs/how-to/sagas.md", ["docs/examples/test_sagas.py", "docs/examples/trip_saga.py"], 6),
    (
        "docs/how-to/trajectories.md",
        ["docs/examples/test_agent_trajectory.py", "docs/examples/weather_agent.py"],
        2,
    ),
    ("docs/how-to/plugins.md", ["docs/examples/test_plugins.py", "docs/examples/test_agents_sdk.py"], 2),
    ("docs/how-to/openai-client.md", ["docs/examples/test_openai_streaming.py", "docs/examples/openai_streaming_agent.py"], 2),
    ("docs/how-to/anthropic-client.md", ["docs/examples/test_anthropic_agent.py", "docs/examples/anthropic_agent.py"], 2),
    ("docs/how-to/pydantic-ai.md", ["docs/examples/test_pydantic_ai.py", "docs/examples/pydantic_ai_agent.py"], 2),
    ("docs/how-to/migrate.md", ["docs/examples/test_migrate_before.py", "docs/examples/test_migrate_after.py"], 2),
    ("docs/how-to/html-report.md", ["docs/examples/test_html_report.py"], 1),
    ("docs/how-to/model-reasoners.md", ["tests/reference/test_model_reasoners_cassettes.py"], 1),
]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_embedded_examples_match_their_files(doc: Path) -> None:
    for match in EXAMPLE_BLOCK.finditer(doc.read_text()):
        source = (ROOT / match["path"]).read_text()
        assert match["code"].strip() == source.strip(), f"{doc.name} embeds a stale copy of {match['path']}"


@pytest.mark.parametrize(
    ("guide", "examples", "at_least"), GUIDES_QUOTING_EXAMPLES, ids=[guide for guide, _, _ in GUIDES_QUOTING_EXAMPLES]
)
def test_every_python_snippet_of_the_how_to_is_in_an_example_that_runs(
    guide: str, examples: list[str], at_least: int
) -> None:
    code = "\n".join((ROOT / path).read_text() for path in examples)
    blocks = [m["code"].strip() for m in PYTHON_BLOCK.finditer((ROOT / guide).read_text())]
    assert len(blocks) >= at_least
    stale = [block.splitlines()[0] for block in blocks if block not in code]
    assert not stale, f"{guide} has snippets that no example file contains: {stale}"


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


def test_the_llm_markers_are_documented() -> None:
    from pytest_temporal_agents.llm import BUDGET_SIGNATURE
    from pytest_temporal_agents.llm import MARKER_SIGNATURE as FAKE_LLM_SIGNATURE

    page = (ROOT / "docs/reference/llm.md").read_text()
    for signature in (FAKE_LLM_SIGNATURE, BUDGET_SIGNATURE):
        name, arguments = signature.split("(", 1)
        assert f"@pytest.mark.{name}(*, {arguments.removeprefix('*, ')}" in page, signature


def test_every_test_the_guarantees_page_cites_exists() -> None:
    """docs/concepts/guarantees.md proves each promise by a test: each one it names must exist."""
    page = (ROOT / "docs" / "concepts" / "guarantees.md").read_text()
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", page)
    assert len(cited) >= 20, cited
    for path, name in cited:
        source = ROOT / path
        assert source.is_file(), f"guarantees.md cites {path}, which does not exist"
        if name:
            assert re.search(rf"^(async )?def {name}\(", source.read_text(), re.M), f"{path} has no test {name}"
