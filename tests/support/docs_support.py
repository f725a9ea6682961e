"""Shared by the tests that keep README.md and docs/ true to the code."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container, Iterable
from pathlib import Path

#: The repository's root (this file is tests/support/docs_support.py).
ROOT = Path(__file__).resolve().parents[2]


def unnamed_parameters(
    functions: Iterable[Callable[..., object]],
    named: Callable[[str], object],
    ignore: Container[str] = ("self",),
) -> list[str]:
    """``function(parameter)`` for each parameter of ``functions`` that ``named`` does not find."""
    return [
        f"{fn.__name__}({name})"
        for fn in functions
        for name in inspect.signature(fn).parameters
        if name not in ignore and not named(name)
    ]
