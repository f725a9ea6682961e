"""One workflow drawn as HTML: its header, and a timeline chart of CSS bars on its time axis.

Rows are the workflow's activities, child workflows, timers and local activities; each
activity's bar is split into its attempts, a failed attempt red with its reason written
under the row (not only in a tooltip). Signals, updates and markers are points on a row of
their own. Every string from a workflow (ids, arguments, errors) goes through
:func:`html.escape`.
"""

from __future__ import annotations

from html import escape

from ._axis import Axis, format_seconds
from ._data import Data

#: The smallest width a bar is drawn with (percent), so that an instant stays visible.
MIN_WIDTH = 0.6

STATUS_CLASS = {
    "completed": "ok",
    "succeeded": "ok",
    "fired": "ok",
    "failed": "bad",
    "timed_out": "bad",
    "start_failed": "bad",
    "terminated": "bad",
    "canceled": "muted",
    "cancelled": "muted",
    "running": "live",
    "started": "live",
    "scheduled": "live",
    "initiated": "live",
    "continued_as_new": "muted",
    "unavailable": "muted",
}

VERDICT_LABEL = {
    "ok": "replay ✓",
    "failed": "replay ✗",
    "off": "replay off",
    "none": "not replayed",
}


def status_class(status: str) -> str:
    return STATUS_CLASS.get(status, "muted")


def render_workflow(workflow: Data) -> str:
    """The workflow's section: header (type, id, status, replay verdict) and its chart."""
    verdict = workflow.get("verdict") or {"status": "none", "text": ""}
    status = str(workflow["status"])
    badges = [
        f'<span class="badge {status_class(status)}">{escape(status.replace("_", " "))}</span>',
        (
            f'<span class="badge verdict-{escape(verdict["status"])}" title="{escape(verdict["text"])}">'
            f"{escape(VERDICT_LABEL.get(verdict['status'], verdict['status']))}</span>"
        ),
    ]
    if workflow.get("mocked"):
        badges.append('<span class="tag mock">mocked child</span>')
    parent = workflow.get("parent")
    sub = [f'<code class="wfid">{escape(workflow["id"])}</code>']
    if parent:
        sub.append(f"child of <code>{escape(parent)}</code>")
    sub.append(f"{workflow['events']} events")
    sub.append(format_seconds(float(workflow["duration"])) + " workflow time")
    parts = [
        (
            f'<section class="workflow{" child" if parent else ""}" '
            f'data-workflow-type="{escape(workflow["type"])}" data-status="{escape(status)}">'
        ),
        '<header class="wf-head">',
        f'<h3><span class="wf-type">{escape(workflow["type"])}</span> {" ".join(badges)}</h3>',
        f'<div class="wf-sub">{" · ".join(sub)}</div>',
        "</header>",
    ]
    if workflow.get("failure"):
        parts.append(f'<div class="wf-failure">{escape(workflow["failure"])}</div>')
    if verdict["status"] == "failed":
        parts.append(f'<div class="wf-failure replay">{escape(verdict["text"])}</div>')
    parts.append(render_chart(workflow))
    for note in workflow.get("notes", ()):
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def render_chart(workflow: Data) -> str:
    """The timeline: an axis, one row per call or timer, one row of points."""
    rows: list[Data] = workflow.get("rows", [])
    marks: list[Data] = workflow.get("marks", [])
    if not rows and not marks:
        return '<p class="empty">No activities, timers, children or signals in this run.</p>'
    points: list[float] = [float(workflow.get("duration", 0.0))]
    for row in rows:
        points += [row["start"], row["end"]]
        points += [
            t for a in row.get("attempts", ()) for t in (a.get("start", 0.0), a.get("end", 0.0))
        ]
    points += [mark["at"] for mark in marks]
    axis = Axis(points)
    lines = ['<div class="chart">', _axis_row(axis)]
    lines += [_row(row, axis) for row in rows]
    if marks:
        lines.append(_marks_row(marks, axis))
    lines.append("</div>")
    return "\n".join(lines)


def _axis_row(axis: Axis) -> str:
    ticks = "".join(
        f'<span class="tick{" first" if pos <= 0 else " last" if pos >= 100 else ""}" '
        f'style="left:{pos:.2f}%">{escape(label)}</span>'
        for pos, label in axis.ticks()
    )
    cuts = "".join(
        f'<span class="cut" style="left:{c.left:.2f}%;width:{c.right - c.left:.2f}%" '
        f'title="{escape(format_seconds(c.seconds))} drawn shorter">⋯ {escape(format_seconds(c.seconds))} ⋯</span>'
        for c in axis.cuts
    )
    return f'<div class="row axis"><div class="label">workflow time</div><div class="track">{ticks}{cuts}</div></div>'


def _span(start: float, end: float, axis: Axis) -> str:
    left = axis.at(start)
    width = max(axis.at(end) - left, MIN_WIDTH)
    left = min(left, 100 - width)
    return f"left:{left:.2f}%;width:{width:.2f}%"


def _row(row: Data, axis: Axis) -> str:
    kind = str(row["kind"])
    tags = [f'<span class="tag kind">{escape(kind)}</span>']
    if row.get("role"):
        tags.append(f'<span class="tag {escape(row["role"])}">{escape(row["role"])} call</span>')
    if row.get("mocked"):
        tags.append('<span class="tag mock">mocked</span>')
    if row.get("compensation"):
        tags.append(
            f'<span class="tag comp" title="{escape(row["compensation"])}">↩ compensation</span>'
        )
    attempts: list[Data] = row.get("attempts", [])
    faults = sorted({a["fault"] for a in attempts if a.get("fault")})
    if faults:
        tags.append(
            f'<span class="tag fault" title="{escape("; ".join(faults))}">⚡ injected fault</span>'
        )
    title = _row_title(row)
    bars = []
    if attempts and kind == "activity":
        for attempt in attempts:
            outcome = str(attempt["outcome"])
            tip = f"{row['name']} attempt {attempt['n']}: {outcome.replace('_', ' ')}"
            if attempt.get("error"):
                tip += f": {attempt['error']}"
            if attempt.get("fault"):
                tip += f" (injected {attempt['fault']})"
            bars.append(
                f'<div class="bar attempt {status_class(outcome)}" data-attempt="{attempt["n"]}" '
                f'data-outcome="{escape(outcome)}" style="{_span(attempt["start"], attempt["end"], axis)}" '
                f'title="{escape(tip)}">{attempt["n"]}</div>'
            )
    else:
        bars.append(
            f'<div class="bar {escape(kind.replace(" ", "-"))} {status_class(str(row["status"]))}" '
            f'style="{_span(row["start"], row["end"], axis)}" title="{escape(title)}"></div>'
        )
    details = _row_details(row, attempts)
    role = f' data-role="{escape(row["role"])}"' if row.get("role") else ""
    return (
        f'<div class="row call" data-kind="{escape(kind)}" data-name="{escape(row["name"])}" '
        f'data-status="{escape(str(row["status"]))}"{role}>'
        f'<div class="label" title="{escape(title)}"><span class="name">{escape(row["name"])}</span>'
        f'<span class="tags">{"".join(tags)}</span></div>'
        f'<div class="track">{"".join(bars)}</div>{details}</div>'
    )


def _row_title(row: Data) -> str:
    text = (
        f"{row['kind']} {row['name']} ({row.get('id', '')}): {str(row['status']).replace('_', ' ')}"
    )
    if row.get("detail"):
        text += f", {row['detail']}"
    if row.get("input"):
        text += f"\ninput: {row['input']}"
    if row.get("result"):
        text += f"\nresult: {row['result']}"
    if row.get("failure"):
        text += f"\nfailure: {row['failure']}"
    if row.get("compensation"):
        text += f"\n{row['compensation']}"
    return text


def _row_details(row: Data, attempts: list[Data]) -> str:
    """The visible reasons: each failed attempt, or the call's failure."""
    lines = []
    for attempt in attempts:
        if attempt["outcome"] in ("succeeded", "running") or not (
            attempt.get("error") or attempt.get("fault")
        ):
            continue
        text = f"attempt {attempt['n']} {attempt['outcome'].replace('_', ' ')}"
        if attempt.get("error"):
            text += f": {attempt['error']}"
        fault = (
            f' <span class="injected">injected {escape(attempt["fault"])}</span>'
            if attempt.get("fault")
            else ""
        )
        lines.append(
            f'<li class="reason {status_class(attempt["outcome"])}">{escape(text)}{fault}</li>'
        )
    if not lines and row.get("failure"):
        lines.append(f'<li class="reason bad">{escape(row["failure"])}</li>')
    return f'<ul class="reasons">{"".join(lines)}</ul>' if lines else ""


def _marks_row(marks: list[Data], axis: Axis) -> str:
    points = []
    for mark in marks:
        tip = f"{mark['kind']} {mark['name']}" + (
            f": {mark['detail']}" if mark.get("detail") else ""
        )
        points.append(
            f'<div class="mark {escape(mark["kind"])}" data-kind="{escape(mark["kind"])}" '
            f'style="left:{axis.at(mark["at"]):.2f}%" title="{escape(tip)}">'
            f'<span class="mark-label">{escape(mark["kind"])} {escape(mark["name"])}</span></div>'
        )
    return (
        '<div class="row marks"><div class="label"><span class="name">signals · updates · markers</span></div>'
        f'<div class="track">{"".join(points)}</div></div>'
    )
