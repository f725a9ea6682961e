"""A session's report: each test's phases folded into one entry, then one HTML file written.

The plugin feeds it every test report the controller sees (so under xdist the workers'
reports, each carrying its test's workflows, land in the one controller's report), and
asks it to write the file at the end of the session. It knows nothing of pytest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._data import Data, clip
from ._page import render_page

#: The failure text kept per test (its last lines, where the error is).
MESSAGE_LIMIT = 4000

#: The attribute of a teardown report that carries the test's workflows (JSON-able).
REPORT_ATTRIBUTE = "temporal_workflows"

WRITE_FAILED = """\
pytest-temporal-agents: could not write the HTML report to {path!r}: {error}.
The tests' own outcome is unchanged. Give --temporal-report (or the temporal_report ini
option) a file path in a directory you can write to."""


class SessionReport:
    """The tests of a session as the report shows them, in the order they finished.

    Args:
        title: the page's title.
    """

    def __init__(self, title: str = "Temporal test report") -> None:
        self.title = title
        self._tests: dict[str, Data] = {}
        self._began = time.monotonic()

    def add(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        *,
        duration: float = 0.0,
        message: str = "",
        workflows: Sequence[Data] | None = None,
        xfail: bool = False,
    ) -> None:
        """Fold one phase's report (``setup``, ``call`` or ``teardown``) into its test.

        A failed setup or teardown makes the test an ``error``, a failed call ``failed``;
        a skip in any phase ``skipped``; ``xfail`` turns a skip into ``xfailed`` and a pass
        into ``xpassed``.
        """
        test = self._tests.setdefault(
            nodeid,
            {
                "nodeid": nodeid,
                "outcome": "passed",
                "duration": 0.0,
                "message": "",
                "workflows": [],
            },
        )
        test["duration"] += duration
        if outcome == "failed":
            test["outcome"] = (
                "failed"
                if when == "call"
                else ("error" if test["outcome"] != "failed" else "failed")
            )
            text = message[-MESSAGE_LIMIT:]
            test["message"] = f"{test['message']}\n\n{text}".strip() if test["message"] else text
        elif outcome == "skipped" and test["outcome"] == "passed":
            test["outcome"] = "xfailed" if xfail else "skipped"
            test["message"] = clip(message, 500)
        elif outcome == "passed" and xfail and when == "call":
            test["outcome"] = "xpassed"
        if workflows:
            test["workflows"].extend(workflows)

    @property
    def tests(self) -> list[Data]:
        return list(self._tests.values())

    def data(self) -> Data:
        """The whole session as plain data: what the page is rendered from."""
        return {
            "title": self.title,
            "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "duration": time.monotonic() - self._began,
            "tests": self.tests,
        }

    def render(self) -> str:
        return render_page(self.data())

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page, creating missing parent directories.

        Raises:
            OSError: the file cannot be written (the message is :data:`WRITE_FAILED`'s).
        """
        return write_html(self.render(), path)


def write_html(page: str, path: str | os.PathLike[str]) -> Path:
    """Write a page to ``path`` (parents created) through a temporary file, so that a
    reader never sees half a report.

    Raises:
        OSError: it cannot be written; the message names the path and the fix.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(f"{str(target)!r} is a directory")
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, target)
    except OSError as err:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        raise OSError(WRITE_FAILED.format(path=str(target), error=err.strerror or err)) from err
    return target


def merge_workflows(value: Any) -> list[Data]:
    """The workflows a report attribute carries (a list of dicts), or none if it is not one."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and "rows" in item]
