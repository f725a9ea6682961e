"""The optional packages some features need, and the error that names the extra to install.

hypothesis and faker are extras, not dependencies: each ships a pytest plugin that imports
its library in every pytest run of an environment that has it installed, Temporal test or not
(docs/concepts/performance.md). The features that need one import it through here.
"""

from __future__ import annotations

from ._errors import HarnessUsageError

#: hypothesis: ``pytest_temporal_agents.strategies``, ``@given`` tests with the ``temporal``
#: fixture, faked values of types faker does not cover.
PROPERTY = "property"
#: faker: return values faked from type annotations for mocks declared without one.
FAKES = "fakes"

MISSING_EXTRA = """\
{feature} needs {module}, which is not installed ({reason}).
Install the [{extra}] extra: pip install 'pytest-temporal-agents[{extra}]'"""


class ExtraMissing(HarnessUsageError, ImportError):
    """A feature needs an optional package that is not installed; the message names the extra."""


def missing_extra(module: str, *, extra: str, feature: str, reason: object) -> ExtraMissing:
    """The error for ``feature`` when importing ``module`` of the ``extra`` failed with ``reason``."""
    return ExtraMissing(MISSING_EXTRA.format(feature=feature, module=module, reason=reason, extra=extra))
