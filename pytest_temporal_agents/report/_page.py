"""The whole page: a session summary, then one collapsible section per test with its workflows.

The page is one file with its style sheet and script inline: it opens from a CI artifact,
an e-mail or a laptop with no network, and it makes no request of its own.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from ._assets import CSS, JS
from ._axis import format_seconds
from ._chart import render_workflow
from ._data import Data

FAILED_STATUSES = ("failed", "timed_out", "terminated", "canceled")

LEGEND = [
    ("var(--ok)", "completed attempt"),
    ("var(--bad)", "failed attempt"),
    ("var(--live)", "running"),
    ("var(--child)", "child workflow"),
    ("repeating-linear-gradient(135deg, var(--timer) 0 4px, #a79cf0 4px 8px)", "timer"),
    ("var(--model)", "model call"),
    ("var(--tool)", "tool call"),
]


def render_page(session: Data) -> str:
    """The report of a session (or of a set of workflows): ``session`` as :class:`SessionReport`
    builds it (``title``, ``generated``, ``duration``, ``tests``)."""
    tests: list[Data] = session.get("tests", [])
    outcomes = Counter(str(t["outcome"]) for t in tests)
    workflows = [w for t in tests for w in t.get("workflows", ())]
    failed_attempts = sum(
        1
        for w in workflows
        for row in w.get("rows", ())
        for a in row.get("attempts", ())
        if a.get("outcome") not in ("succeeded", "running")
    )
    by_workflow = session.get("unit") == "workflows"  # write_workflow_report: no tests
    if by_workflow:
        statuses = Counter(str(w["status"]) for w in workflows)
        stats = [
            ("workflows", str(len(workflows)), ""),
            ("completed", str(statuses["completed"]), "passed"),
            ("failed", str(sum(statuses[s] for s in FAILED_STATUSES)), "failed"),
            ("running", str(statuses["running"]), "skipped"),
        ]
    else:
        stats = [
            ("tests", str(len(tests)), ""),
            ("passed", str(outcomes["passed"]), "passed"),
            ("failed", str(outcomes["failed"] + outcomes["error"]), "failed"),
            ("skipped", str(outcomes["skipped"] + outcomes["xfailed"]), "skipped"),
            ("workflows", str(len(workflows)), ""),
        ]
    stats.append(("failed attempts", str(failed_attempts), ""))
    if not by_workflow:
        replay_failures = sum(
            1 for w in workflows if w.get("verdict", {}).get("status") == "failed"
        )
        stats.append(("replay failures", str(replay_failures), ""))
    if session.get("duration") is not None:
        stats.append(("session time", format_seconds(float(session["duration"])), ""))
    summary = "".join(
        f'<div class="stat {cls}" data-stat="{escape(name)}"><b>{escape(value)}</b>{escape(name)}</div>'
        for name, value, cls in stats
    )
    legend = "".join(
        f'<span><i style="background:{color}"></i>{escape(text)}</span>' for color, text in LEGEND
    )
    legend += '<span>◆ signal / update</span><span class="tag comp">↩ compensation</span>'
    legend += '<span class="tag mock">mocked</span><span class="tag fault">⚡ injected fault</span>'
    title = escape(str(session.get("title", "Temporal test report")))
    body = "\n".join(_test(t) for t in tests) or '<p class="empty">No tests ran.</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body data-unit="{"workflows" if by_workflow else "tests"}">
<header class="page">
<h1>{title}</h1>
<div class="meta">generated {escape(str(session.get("generated", "")))} · pytest-temporal-agents</div>
<div class="summary">{summary}</div>
</header>
<main>
<div class="toolbar">
<button type="button" data-filter="all">All</button>
<button type="button" data-filter="failed">Failed</button>
<button type="button" data-filter="passed">{"Completed" if by_workflow else "Passed"}</button>
<button type="button" data-open="all">Expand all</button>
<button type="button" data-open="none">Collapse all</button>
<span class="count" id="shown-count"></span>
</div>
<div class="legend">{legend}</div>
{body}
</main>
<footer>One self-contained file: styles and script are inline; it loads nothing from the network.</footer>
<script>{JS}</script>
</body>
</html>
"""


def _test(test: Data) -> str:
    outcome = str(test["outcome"])
    workflows: list[Data] = test.get("workflows", [])
    failing = outcome in ("failed", "error") or any(
        w.get("status") in ("failed", "timed_out", "terminated")
        or w.get("verdict", {}).get("status") == "failed"
        for w in workflows
    )
    count = f"{len(workflows)} workflow{'s' if len(workflows) != 1 else ''}"
    duration = format_seconds(float(test.get("duration", 0.0)))
    parts = [
        (
            f'<details class="test" data-outcome="{escape(outcome)}" data-nodeid="{escape(test["nodeid"])}"'
            f"{' open' if failing or len(workflows) else ''}>"
        ),
        (
            f'<summary><span class="outcome {escape(outcome)}">{escape(test.get("label", outcome))}</span>'
            f'<span class="nodeid">{escape(test["nodeid"])}</span>'
            f'<span class="right">{count} · {escape(duration)}</span></summary>'
        ),
        '<div class="test-body">',
    ]
    if test.get("message"):
        parts.append(f'<pre class="longrepr">{escape(test["message"])}</pre>')
    if not workflows:
        parts.append('<p class="empty">This test ran no Temporal workflow.</p>')
    parts.extend(render_workflow(w) for w in workflows)
    parts.append("</div></details>")
    return "\n".join(parts)
