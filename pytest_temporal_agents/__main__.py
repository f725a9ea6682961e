"""``python -m pytest_temporal_agents replay ...``: see :mod:`pytest_temporal_agents.replay`."""

from __future__ import annotations

import os
import sys

from .replay import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main, replay_command

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "main", "replay_command"]

if __name__ == "__main__":
    # Exit without finalising the interpreter: temporalio's core runtime keeps native threads
    # that may call into Python during finalisation and abort the process after the replay is
    # done (temporalio/sdk-python#300). The results are printed and written by now.
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
