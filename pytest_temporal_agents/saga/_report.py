"""The side-by-side saga report: each forward run beside the compensations that undid it.

::

    forward step       events   at       outcome    | compensation     events   at       outcome
    reserve_capital    #11-#13  +0.133s  completed  | release_capital  #35-#37  +0.323s  completed at attempt 3
    place_order        #17-#19  +0.187s  completed  | cancel_order     #29-#31  +0.259s  completed
    confirm_execution  #23-#25  +0.224s  failed: …  | -                                   (nothing to undo)
"""

from __future__ import annotations

from datetime import datetime

from ..history import format_offset
from ._analysis import SagaAnalysis, StepRun
from ._model import Execution

#: Outcome cells longer than this are cut (the problem lines above the table say it all).
CELL_LIMIT = 48

HEADER = ("forward step", "events", "at", "outcome", "compensation", "events", "at", "outcome")


def _cut(text: str, limit: int = CELL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _at(execution: Execution, start: datetime | None) -> str:
    if start is None:
        return ""
    moment = execution.closed_time or execution.scheduled_time
    # History timestamps are naive UTC; a start given with a timezone is UTC too.
    return format_offset(moment.replace(tzinfo=None) - start.replace(tzinfo=None))


def _cells(execution: Execution | None, start: datetime | None) -> list[str]:
    if execution is None:
        return ["", "", "", ""]
    return [execution.name, execution.events(), _at(execution, start), _cut(execution.outcome())]


def _missing(run: StepRun, rolled_back: bool) -> list[str]:
    """The compensation cells of a run that nothing undid: why that is (or is not) fine."""
    step = run.step
    if step.compensation is None:
        return ["-", "", "", "(no compensation declared)"]
    if run.execution is None:
        return ["-", "", "", "(the step never ran)"]
    if not run.needs_compensation:
        return ["-", "", "", "(nothing to undo)" if not run.completed else "(not compensated)"]
    if not rolled_back:
        return ["-", "", "", "(not compensated)"]
    return [step.compensation.name, "", "", "NOT COMPENSATED"]


def render_saga(analysis: SagaAnalysis, *, rolled_back: bool = True) -> str:
    """The table: one row per forward run, its compensations beside it; strays at the end.

    Args:
        analysis: the saga's analysis.
        rolled_back: whether the saga was expected to be compensated (marks the runs that
            were not as NOT COMPENSATED).
    """
    start = analysis.start_time
    rows: list[list[str]] = []
    for run in analysis.runs:
        left = _cells(run.execution, start) if run.execution else [run.name, "", "", "never ran"]
        if not run.compensations:
            rows.append(left + _missing(run, rolled_back))
            continue
        for index, compensation in enumerate(run.compensations):
            rows.append((left if index == 0 else ["", "", "", ""]) + _cells(compensation, start))
    for step, execution in analysis.stray:
        rows.append(["", "", "", f"(no {step.forward.name} left to undo)"] + _cells(execution, start))
    table = [list(HEADER), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = []
    for row in table:
        forward = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        undo = "  ".join(cell.ljust(widths[i + 4]) for i, cell in enumerate(row[4:]))
        lines.append(f"  {forward} | {undo}".rstrip())
    return "\n".join(lines)


def describe_workflow(analysis: SagaAnalysis) -> str:
    """``workflow 'id' (TradeSagaWorkflow, failed)``."""
    kind = f"{analysis.workflow_type}, " if analysis.workflow_type else ""
    return f"workflow {analysis.workflow_id!r} ({kind}{analysis.status or 'unknown status'})"
