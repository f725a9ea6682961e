"""The helper interpreter's replayer kept open across requests (issue 14): the same
verdicts and reports as a new replayer per request, request after request."""

from __future__ import annotations

import os
import sys

from replay_fixture_workflows import UNPATCHED, V1
from replay_support import HISTORIES

from pytest_temporal_agents.history._files import load_history_file
from pytest_temporal_agents.replay._engine import NONDETERMINISTIC, OK, replay_histories
from pytest_temporal_agents.replay._process import (
    FreshInterpreter,
    ReplaySession,
    _encode,
    portable_ref,
)


async def test_a_session_gives_each_request_the_verdicts_and_reports_of_a_fresh_replayer() -> None:
    loaded = [(str(p), load_history_file(p)) for p in sorted(HISTORIES.rglob("*.json"))]
    fresh = await replay_histories(loaded, UNPATCHED, compare_inputs=True)
    assert sorted(r.status for r in fresh) == [NONDETERMINISTIC, NONDETERMINISTIC, OK, OK]
    session = ReplaySession(UNPATCHED)
    opened = []
    try:
        # Twice through the same replayer, and one history alone after a failure.
        for batch in (loaded, loaded, loaded[-1:], loaded[:1]):
            reused = await replay_histories(batch, UNPATCHED, compare_inputs=True, batch=session.replay)
            expected = [r for r in fresh if r.source in {source for source, _ in batch}]
            assert [(r.source, r.status, r.headline, r.report) for r in reused] == [
                (r.source, r.status, r.headline, r.report) for r in expected
            ]
            opened.append(session._results)
        assert opened[0] is not None and opened == [opened[0]] * 4  # one replayer throughout
    finally:
        await session.close()


def test_the_helper_interpreter_replays_request_after_request_and_exits_cleanly() -> None:
    loaded = [(str(p), load_history_file(p)) for p in sorted(HISTORIES.rglob("*.json"))]
    helper = FreshInterpreter()
    payload = {
        "cwd": os.getcwd(),
        "sys_path": list(sys.path),
        "workflows": [portable_ref(cls) for cls in V1],
        "histories": [[label, h.workflow_id, _encode(h)] for label, h in loaded],
    }
    try:
        for _ in range(3):
            answer = helper.request(payload)
            assert answer is not None and [r["status"] for r in answer["results"]] == [OK] * 4, answer
        proc, stderr = helper._proc, helper._stderr
        assert proc is not None and stderr is not None
        helper.close()  # closes its stdin: the helper closes its replayers and exits
        assert proc.returncode == 0
        stderr.seek(0)
        assert b"Task was destroyed" not in stderr.read()
    finally:
        helper.kill()
