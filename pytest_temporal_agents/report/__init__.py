"""The HTML report: a session's tests and their workflows drawn as timelines, in one file.

``--temporal-report PATH`` (or the ``temporal_report`` ini option) makes the plugin gather,
at each test's teardown, the workflows the test ran (with their children) as plain data read
from the one history model: activities by attempt with the reason each failed, timers,
signals, updates, children, compensations, injected faults and mocks, model and tool calls,
and the replay verdict. Under xdist that data rides in each test's report to the
controller, which writes one page at the end of the session. ``write_workflow_report``
draws histories outside a pytest session.

Rendering needs no temporalio: the controller of an xdist run only merges and renders.
Reading histories does, and loads on first use.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._data import Data, clip
from ._page import render_page
from ._session import REPORT_ATTRIBUTE, WRITE_FAILED, SessionReport, merge_workflows, write_html

if TYPE_CHECKING:
    from ._collect import replay_verdict, workflow_data
    from ._gather import MAX_WORKFLOWS, gather_workflows
    from ._standalone import workflow_report, write_workflow_report

__getattr__ = lazy_names(
    __name__,
    {
        "._collect": "replay_verdict workflow_data",
        "._gather": "MAX_WORKFLOWS gather_workflows",
        "._standalone": "workflow_report write_workflow_report",
    },
)

__all__ = [
    "MAX_WORKFLOWS",
    "REPORT_ATTRIBUTE",
    "WRITE_FAILED",
    "Data",
    "SessionReport",
    "clip",
    "gather_workflows",
    "merge_workflows",
    "render_page",
    "replay_verdict",
    "workflow_data",
    "workflow_report",
    "write_html",
    "write_workflow_report",
]
