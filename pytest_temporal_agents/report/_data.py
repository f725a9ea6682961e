"""The report's data: plain dicts, lists, strings and numbers (JSON-able, so they cross from
an xdist worker to the controller), and the one rule for cutting long text."""

from __future__ import annotations

from typing import Any

#: A payload or an error longer than this is cut (the report stays small for big sessions).
TEXT_LIMIT = 300

#: A workflow, a row, an attempt, a test: the report's records are plain dicts.
Data = dict[str, Any]


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
