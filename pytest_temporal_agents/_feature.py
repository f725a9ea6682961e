"""The base of the harness's feature mixins (workers, mocks, faults, replay, sagas).

Each feature lives in its own module as a mixin of :class:`TemporalHarness`; its state is
set up in a cooperative ``_init_features`` chain, so no feature edits another's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .harness import TemporalHarness


class Feature:
    """Cooperative base: every mixin's ``_init_features`` calls ``super()._init_features()``."""

    def _init_features(self) -> None:
        """End of the chain: nothing to set up."""

    @property
    def _harness(self) -> TemporalHarness:
        return self  # type: ignore[return-value]
