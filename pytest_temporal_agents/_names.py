"""Registered names of activities and workflows (what Temporal matches on)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import temporalio.activity
import temporalio.workflow

from ._errors import HarnessUsageError


def activity_name(fn: Callable[..., Any] | str) -> str:
    """The registered name of an activity callable (or the name itself)."""
    if isinstance(fn, str):
        return fn
    defn = temporalio.activity._Definition.from_callable(fn)
    if defn is None or defn.name is None:
        raise HarnessUsageError(
            f"{fn!r} is not a Temporal activity: decorate it with @activity.defn "
            "or pass the activity's registered name as a string."
        )
    return defn.name


def workflow_name(cls: type | str) -> str:
    if isinstance(cls, str):
        return cls
    defn = temporalio.workflow._Definition.from_class(cls)
    if defn is None or defn.name is None:
        raise HarnessUsageError(f"{cls!r} is not a Temporal workflow: decorate it with @workflow.defn.")
    return defn.name
