"""pytest items for recorded histories: one item per history file, its id the file's path;
and for the histories a visibility query selects on the session's cluster
(``temporal_replay_query``): one item per workflow run, fetched at collection.

Files under the ini option ``temporal_replay_paths`` are replayed against the workflow
classes named by ``temporal_workflows`` (or ``--temporal-workflows``). All histories of a
session are replayed in one batch on first use (one SDK replayer for all is markedly faster
than one each); each item then reports its own result. A file that cannot be replayed, or a
bad ``temporal_workflows``, fails its item with a clear message; it never stops the session.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from .._errors import TemporalConfigError
from ..history import History
from ..servers import ServerConfig
from ._engine import (
    INVALID,
    ReplayFailed,
    ReplayResult,
    load_workflow_specs,
    replay_files,
    replay_histories,
)

WORKFLOWS_KEY = pytest.StashKey["list[type] | TemporalConfigError"]()
RESULTS_KEY = pytest.StashKey["dict[Path, ReplayResult]"]()

NO_WORKFLOWS_SETTING = """\
{path} is under temporal_replay_paths, but no workflows are named to replay it against.
Set the ini option temporal_workflows = "pkg.module:ATTR" (ATTR: a workflow class or a
list of them; several specs separated by spaces), or pass --temporal-workflows=pkg.module:ATTR."""


def is_history_path(config: pytest.Config, file_path: Path) -> bool:
    """Whether ``file_path`` is a ``.json`` file under one of ``temporal_replay_paths``."""
    roots: list[Path] = config.getini("temporal_replay_paths") or []
    resolved = file_path.resolve()
    return any(resolved == root.resolve() or root.resolve() in resolved.parents for root in roots)


class HistoryItem(pytest.Item):
    """Replays one recorded history; fails with the readable report."""

    def _workflows(self) -> list[type]:
        cached = self.config.stash.get(WORKFLOWS_KEY, None)
        if cached is None:
            spec = self.config.getoption("temporal_workflows", None) or self.config.getini("temporal_workflows")
            if not spec:
                cached = TemporalConfigError(NO_WORKFLOWS_SETTING.format(path=self.path))
            else:
                try:
                    cached = load_workflow_specs(str(spec), "temporal_workflows")
                except TemporalConfigError as err:
                    cached = err
            self.config.stash[WORKFLOWS_KEY] = cached
        if isinstance(cached, TemporalConfigError):
            raise cached
        return cached

    def _result(self) -> ReplayResult:
        results = self.config.stash.setdefault(RESULTS_KEY, {})
        if self.path not in results:
            try:
                workflows = self._workflows()
            except TemporalConfigError as err:
                return ReplayResult(source=self.nodeid, workflow_type="?", status=INVALID, headline=str(err), report=str(err))
            # xdist workers each run a share of the items: only then replay one at a time.
            batch = [self] if hasattr(self.config, "workerinput") else [
                item for item in self.session.items if isinstance(item, HistoryItem) and item.path not in results
            ]
            if self not in batch:
                batch.append(self)
            replayed = asyncio.run(replay_files([item.path for item in batch], workflows, root=self.config.rootpath))
            results.update(zip((item.path for item in batch), replayed))
        return results[self.path]

    def runtest(self) -> None:
        result = self._result()
        if not result.ok:
            raise ReplayFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ReplayFailed):
            return excinfo.value.result.report or excinfo.value.result.headline
        if isinstance(excinfo.value, TemporalConfigError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"replay {self.nodeid}"


def collect_history(file_path: Path, parent: pytest.Collector) -> HistoryItem | None:
    if not is_history_path(parent.config, file_path):
        return None
    nodeid = file_path.relative_to(parent.config.rootpath).as_posix() if file_path.is_relative_to(parent.config.rootpath) else str(file_path)
    return HistoryItem.from_parent(parent, name=file_path.name, path=file_path, nodeid=nodeid)


# -- histories a visibility query selects on the session's cluster (temporal_replay_query) ---------

CLUSTER_RESULTS_KEY = pytest.StashKey["dict[str, ReplayResult]"]()
QUERY_ROOT = "temporal_replay_query"

NOT_A_CLUSTER = """\
temporal_replay_query needs an external cluster, but the session's server is the {server}.
Set --temporal-env=HOST:PORT (or 'external' with TEMPORAL_ADDRESS or a profile of Temporal's
environment configuration) to fetch the histories from that cluster."""


class ClusterHistoryItem(HistoryItem):
    """Replays one history fetched from the cluster at collection; fails with the report."""

    history: Any = None

    def _result(self) -> ReplayResult:
        results = self.config.stash.setdefault(CLUSTER_RESULTS_KEY, {})
        if self.nodeid not in results:
            try:
                workflows = self._workflows()
            except TemporalConfigError as err:
                return ReplayResult(source=self.nodeid, workflow_type="?", status=INVALID, headline=str(err), report=str(err))
            batch = [
                item for item in self.session.items
                if isinstance(item, ClusterHistoryItem) and item.nodeid not in results
            ] or [self]  # fmt: skip
            replayed = asyncio.run(replay_histories([(item.name, item.history) for item in batch], workflows))
            results.update(zip((item.nodeid for item in batch), replayed))
        return results[self.nodeid]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"replay {self.name} ({self.history.workflow_type})"


class QueryProblemItem(pytest.Item):
    """Stands for a query that fetched nothing: fails with why, so the session shows it."""

    problem: str = ""

    def runtest(self) -> None:
        raise TemporalConfigError(self.problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, QUERY_ROOT


def collect_cluster_histories(session: pytest.Session, server: ServerConfig, query: str, limit: int) -> list[pytest.Item]:
    """One item per history ``query`` selects on the session's cluster (fetched now), or one
    failing item saying why none could be fetched. Node ids are
    ``temporal_replay_query/<WorkflowType>/<workflow id>/<run id>``: ``-k`` selects them."""
    from ..servers import connect, quiet_runtime, resolve_connection, run_in_fresh_loop
    from ._cluster import fetch_histories

    async def fetch() -> list[tuple[str, History]]:
        client = await connect(resolve_connection(server), quiet_runtime())
        return await fetch_histories(client, query, limit=limit, setting="ini option temporal_replay_query")

    try:
        if not server.is_external:
            raise TemporalConfigError(NOT_A_CLUSTER.format(server=server.describe()))
        histories = run_in_fresh_loop(fetch, timeout=300)
    except TemporalConfigError as err:
        problem = QueryProblemItem.from_parent(session, name=QUERY_ROOT, nodeid=QUERY_ROOT)
        problem.problem = str(err)
        return [problem]
    items: list[pytest.Item] = []
    for label, history in histories:
        nodeid = f"{QUERY_ROOT}/{history.workflow_type}/{label}"
        item = ClusterHistoryItem.from_parent(session, name=label, nodeid=nodeid)
        item.history = history
        items.append(item)
    return items
