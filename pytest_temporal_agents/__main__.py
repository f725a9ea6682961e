"""``python -m pytest_temporal_agents replay ...``: see :mod:`pytest_temporal_agents.replay`."""

from __future__ import annotations

import sys

from .replay import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main, replay_command

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "main", "replay_command"]

if __name__ == "__main__":
    sys.exit(main())
