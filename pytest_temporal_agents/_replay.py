"""Harness feature: replay checks at teardown and history recording."""

from __future__ import annotations

from ._feature import Feature


class ReplayFeature(Feature):
    """The harness methods of this feature."""

    def _init_features(self) -> None:
        super()._init_features()
