"""Harness feature: activity and child-workflow mocks (see issue: mocks)."""

from __future__ import annotations

from ._feature import Feature


class MockingFeature(Feature):
    """The harness methods of this feature."""

    def _init_features(self) -> None:
        super()._init_features()
