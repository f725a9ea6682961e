"""The ``temporal`` fixture's object: :class:`TemporalHarness`, a facade over the features,
with the per-test lifecycle (workers, run, settle, teardown checks, close) and the settings
that options, ini values and the marker resolve to.

The settings are read while pytest configures every run; :class:`TemporalHarness` (and
with it temporalio and every feature) is imported when a test first asks for it.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._body_timeout import bounded_body
from ._campaign import Campaign, CampaignProgress, campaign_progress, observed, quiet_reason
from ._isolation import IsolatedChecksFailed
from ._options import (
    DEFAULT_TIMEOUT,
    MARKER_SIGNATURE,
    OPTIONS,
    ReplaySettings,
    Settings,
    TemporalMarker,
    apply_marker,
    merge_markers,
    parse_limit,
    resolve_replay_settings,
    resolve_settings,
)
from ._pytest_support import exempt_from_assertion_rewriting, relax_for_temporal

if TYPE_CHECKING:
    from ._harness import TemporalHarness

__getattr__ = lazy_names(__name__, {"._harness": "TemporalHarness"})

__all__ = [
    "DEFAULT_TIMEOUT",
    "MARKER_SIGNATURE",
    "OPTIONS",
    "Campaign",
    "CampaignProgress",
    "IsolatedChecksFailed",
    "ReplaySettings",
    "Settings",
    "TemporalHarness",
    "TemporalMarker",
    "apply_marker",
    "bounded_body",
    "campaign_progress",
    "exempt_from_assertion_rewriting",
    "merge_markers",
    "observed",
    "parse_limit",
    "quiet_reason",
    "relax_for_temporal",
    "resolve_replay_settings",
    "resolve_settings",
]
