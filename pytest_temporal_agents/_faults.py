"""Harness feature: fault injection."""

from __future__ import annotations

from ._feature import Feature


class FaultsFeature(Feature):
    """The harness methods of this feature."""

    def _init_features(self) -> None:
        super()._init_features()
