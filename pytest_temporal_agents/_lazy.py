"""Names a package hands on without importing the modules that define them until first use.

pytest loads the plugin for every run, Temporal or not, and the plugin reads its options
from ``harness`` and builds its server pool from ``servers`` while pytest configures: those
packages import their light modules at once and the heavy ones (temporalio, the features)
only when a name of theirs is asked for (PEP 562).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, defined_in: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``defined_in`` maps a relative module to the
    space-separated names it defines; each is imported on first access, then kept."""
    modules = {name: module for module, names in defined_in.items() for name in names.split()}

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
