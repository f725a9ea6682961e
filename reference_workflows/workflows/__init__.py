"""One module per workflow pattern; ``ALL_WORKFLOWS`` collects every module's ``WORKFLOWS``.

``ALL_WORKFLOWS`` is computed on first access (PEP 562): importing one pattern module, as the
workflow sandbox does for every workflow run, must not import all the others. A module in
``OPTIONAL_MODULES`` (the Agents SDK analyst) is left out when its extra is not installed.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every pattern module, in the order of the article.
PATTERN_MODULES = (
    "sequential",
    "parallel",
    "child",
    "conditional",
    "fan_out",
    "saga",
    "polling",
    "event_driven",
    "chained",
    "trading",
    "strategy_router",
    "agents",
    "analyst",
)

#: Pattern modules that need an optional extra; without it their workflows are left out.
OPTIONAL_MODULES = frozenset({"analyst"})

__all__ = ["ALL_WORKFLOWS", "OPTIONAL_MODULES", "PATTERN_MODULES", "collect_workflows"]


def collect_workflows(modules: tuple[str, ...] = PATTERN_MODULES) -> list[type]:
    """The ``WORKFLOWS`` of each module, in order, without duplicates.

    Raises:
        ImportError: a pattern module is missing or does not define ``WORKFLOWS``.
    """
    found: list[type] = []
    for name in modules:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ImportError as error:
            if name in OPTIONAL_MODULES and not (error.name or "").startswith(__package__ or ""):
                continue  # its extra is not installed; `run` names it when asked for this one
            raise
        try:
            workflows = module.WORKFLOWS
        except AttributeError:
            raise ImportError(
                f"{module.__name__} defines no WORKFLOWS list; every pattern module must list "
                "its workflow classes (children included) in a module-level WORKFLOWS."
            ) from None
        found.extend(cls for cls in workflows if cls not in found)
    return found


def __getattr__(name: str) -> Any:
    if name == "ALL_WORKFLOWS":
        value = collect_workflows()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
