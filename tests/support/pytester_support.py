"""Source written into nested pytest runs (a module name unique across the suite)."""

from __future__ import annotations

from pathlib import Path

#: This folder: workflow modules that tests copy into pytester directories or import.
SUPPORT = Path(__file__).resolve().parent

#: Written into inner test runs as ``workflows.py``: the sample workflows this suite's own
#: tests run (a copy, so that subprocess runs import it too).
WORKFLOWS = (SUPPORT / "sample_workflows.py").read_text()
