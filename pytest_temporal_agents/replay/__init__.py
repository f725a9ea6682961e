"""Determinism checks: replay histories against the current workflow code and explain a
divergence (which event, what the history has, what the code now does).

Used at a test's teardown (every workflow it ran), for saved history files collected as
test items, and by ``python -m pytest_temporal_agents replay``.
"""

from ._cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main, replay_command
from ._cluster import fetch_histories, replay_in_processes, save_histories, write_junit
from ._engine import (
    ReplayConfig,
    ReplayFailed,
    ReplayResult,
    load_workflow_specs,
    load_workflows,
    replay_files,
    replay_histories,
)
from ._feature import ReplayCheck, ReplayFeature
from ._items import collect_cluster_histories, collect_history

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "ReplayCheck",
    "ReplayConfig",
    "ReplayFailed",
    "ReplayFeature",
    "ReplayResult",
    "collect_cluster_histories",
    "collect_history",
    "fetch_histories",
    "load_workflow_specs",
    "load_workflows",
    "main",
    "replay_command",
    "replay_files",
    "replay_histories",
    "replay_in_processes",
    "save_histories",
    "write_junit",
]
