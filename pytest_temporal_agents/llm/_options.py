"""The ``fake_llm`` marker's arguments (read without pytest; the plugin passes them in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ._errors import FakeLLMError

#: As registered with pytest (``--strict-markers``) and documented.
MARKER_SIGNATURE = "fake_llm(*, allow_unused=False)"


@dataclass(frozen=True, kw_only=True)
class FakeLLMMarker:
    """Arguments of ``@pytest.mark.fake_llm(...)``; all keyword-only.

    Attributes:
        allow_unused: scripted replies no request took do not fail the test.
    """

    allow_unused: bool = False


def read_markers(markers: Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]]) -> FakeLLMMarker:
    """Merge ``(args, kwargs)`` of the markers, given closest first: the closest wins.

    Raises:
        FakeLLMError: positional arguments, an unknown keyword, or a value of the wrong type.
    """
    valid = ", ".join(f.name for f in fields(FakeLLMMarker))
    merged: dict[str, Any] = {}
    for args, kwargs in reversed(list(markers)):
        unknown = sorted(set(kwargs) - {f.name for f in fields(FakeLLMMarker)})
        if args or unknown:
            given = f"{args!r}" if args else f"({unknown[0]}=...)"
            raise FakeLLMError(
                f"@pytest.mark.fake_llm{given} is invalid: it takes only keyword arguments "
                f"among: {valid}."
            )
        merged.update(kwargs)
    marker = FakeLLMMarker(**merged)
    if not isinstance(marker.allow_unused, bool):
        raise FakeLLMError(
            f"@pytest.mark.fake_llm(allow_unused={marker.allow_unused!r}) must be True or False."
        )
    return marker
