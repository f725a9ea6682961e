"""The same report for workflows outside a pytest session: histories in, one HTML file out.

For a CLI that shows a past run (``trading-agents show RUN --html``) or a script that
fetched histories from a cluster: each history becomes a section like a test's, without
a test outcome or a replay verdict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..history import History
from ._collect import workflow_data
from ._data import Data
from ._page import render_page
from ._session import write_html

#: How a workflow's status reads as the outcome of its section.
OUTCOME = {"completed": "passed", "running": "running", "continued_as_new": "passed"}


def workflow_report(histories: Sequence[History], *, title: str = "Temporal workflows") -> str:
    """The HTML page (as text) of these workflow runs, one section each, in this order."""
    sections: list[Data] = []
    for history in histories:
        data = workflow_data(history, verdict={"status": "none", "text": "not replayed"})
        sections.append(
            {
                "nodeid": f"{data['type']} {data['id']}",
                "outcome": OUTCOME.get(str(data["status"]), "failed"),
                "label": str(data["status"]).replace("_", " "),
                "duration": data["duration"],
                "message": "",
                "workflows": [data],
            }
        )
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return render_page(
        {
            "title": title,
            "generated": generated,
            "duration": None,
            "tests": sections,
            "unit": "workflows",
        }
    )


def write_workflow_report(
    histories: Sequence[History], path: str | os.PathLike[str], *, title: str = "Temporal workflows"
) -> Path:
    """Write the report of workflow runs (no pytest session) to one self-contained HTML file.

    Args:
        histories: the runs, as :class:`~pytest_temporal_agents.History` (a harness's
            history also draws every attempt; a saved one, the last attempt of each activity).
        path: the file to write; missing parent directories are created.
        title: the page's title.

    Returns:
        The path written.

    Raises:
        OSError: the file cannot be written; the message names the path.
    """
    return write_html(workflow_report(histories, title=title), path)
