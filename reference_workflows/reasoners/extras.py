"""Optional packages of the model reasoners and the analyst, imported when first used.

The reference system runs with neither; choosing a model reasoner (or the analyst) without
its package is an error that names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_MISSING = (
    "{what} needs the {module!r} package, which is not installed; "
    "install it with: pip install 'pytest-temporal-agents[{extra}]'"
)


class ExtraMissingError(ImportError):
    """A package of an optional extra is missing; the message names the pip command."""


def require(module: str, extra: str, what: str | None = None) -> ModuleType:
    """Import ``module``, or raise ``ExtraMissingError`` naming ``pytest-temporal-agents[extra]``.

    Args:
        module: the package to import (``openai``, ``anthropic``, ``agents``).
        extra: the extra that installs it (``llm``, ``agents``).
        what: what needs it, for the message (default: "this reasoner").
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there; something it imports is broken: show that
        message = EXTRA_MISSING.format(what=what or "this reasoner", module=module, extra=extra)
        raise ExtraMissingError(message) from None
