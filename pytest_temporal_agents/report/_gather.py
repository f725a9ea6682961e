"""Gather the workflows one test ran, with their children, while the test's loop is alive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

from .._context import INTERNAL_PREFIX
from ..history import History
from ._collect import MockCallLike, replay_verdict, workflow_data
from ._data import Data, clip

#: Workflows drawn per test (started ones first, then their children).
MAX_WORKFLOWS = 25

Fetch = Callable[[str, "str | None"], Awaitable[History]]


async def gather_workflows(
    workflow_ids: Sequence[str],
    fetch: Fetch,
    *,
    mock_calls: Sequence[MockCallLike] = (),
    replay_checked: bool = False,
    replayable: Collection[str] = (),
    problems: Sequence[str] = (),
    limit: int = MAX_WORKFLOWS,
) -> list[Data]:
    """Each workflow the test started and each child they started, as report data.

    Args:
        workflow_ids: the workflows the test started, in order.
        fetch: ``await fetch(workflow_id, run_id)``: the run's history (the harness's, which
            knows every attempt).
        mock_calls: the test's calls to mocks (mocked activities and children are labelled).
        replay_checked: the teardown replay ran for this test.
        replayable: workflow types the replay had a class for.
        problems: the test's teardown problems (a failed replay names its workflow there).
    """
    mocked_children = {c.workflow_id for c in mock_calls if c.kind == "workflow"}
    pending: list[tuple[str, str | None, str | None]] = [(i, None, None) for i in workflow_ids]
    found: list[Data] = []
    seen: set[str] = set()
    skipped = 0
    while pending:
        workflow_id, run_id, parent = pending.pop(0)
        if workflow_id in seen:
            continue
        seen.add(workflow_id)
        if len(found) >= limit:
            skipped += 1
            continue
        try:
            history = await fetch(workflow_id, run_id)
        except Exception as err:  # noqa: BLE001 - the report says so instead of failing
            found.append(_unavailable(workflow_id, parent, f"history unavailable: {err}"))
            continue
        if history.workflow_type.startswith(INTERNAL_PREFIX):
            continue  # the harness's own helper workflows (delayed signals and queries)
        verdict = replay_verdict(
            workflow_id,
            history.workflow_type,
            checked=replay_checked,
            replayable=replayable,
            problems=problems,
        )
        data = workflow_data(history, mock_calls=mock_calls, verdict=verdict, parent=parent)
        data["mocked"] = workflow_id in mocked_children
        found.append(data)
        pending.extend(
            (c.id, c.run_id or None, workflow_id) for c in history.parsed.children if c.run_id
        )
    if skipped and found:
        found[-1]["notes"].append(
            f"{skipped} more workflow(s) of this test not drawn (at most {limit})"
        )
    return found


def _unavailable(workflow_id: str, parent: str | None, why: str) -> Data:
    return {
        "id": workflow_id,
        "run_id": "",
        "type": "?",
        "status": "unavailable",
        "failure": clip(why),
        "parent": parent,
        "mocked": False,
        "events": 0,
        "started_at": "",
        "duration": 0.0,
        "rows": [],
        "marks": [],
        "notes": [],
        "verdict": {"status": "none", "text": "not replayed"},
    }
