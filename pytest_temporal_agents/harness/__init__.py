"""The ``temporal`` fixture's object: :class:`TemporalHarness`, a facade over the features,
with the per-test lifecycle (workers, run, settle, teardown checks, close) and the settings
that options, ini values and the marker resolve to.

The settings are read while pytest configures every run; each name is imported on first
use, so :class:`TemporalHarness` (and with it temporalio and every feature) loads when a
test first asks for it, and the settings load nothing beyond ``_options``.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._body_timeout import bounded_body
    from ._campaign import Campaign, CampaignProgress, campaign_progress, observed, quiet_reason
    from ._harness import TemporalHarness
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

# Every name on first use: pytest_addoption / pytest_configure load only ``_options`` (and
# ``_pytest_support``), which import neither temporalio nor the other modules here.
__getattr__ = lazy_names(
    __name__,
    {
        "._body_timeout": "bounded_body",
        "._campaign": "Campaign CampaignProgress campaign_progress observed quiet_reason",
        "._harness": "TemporalHarness",
        "._isolation": "IsolatedChecksFailed",
        "._options": "DEFAULT_TIMEOUT MARKER_SIGNATURE OPTIONS ReplaySettings Settings "
        "TemporalMarker apply_marker merge_markers parse_limit resolve_replay_settings "
        "resolve_settings",
        "._pytest_support": "exempt_from_assertion_rewriting relax_for_temporal",
    },
)

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
