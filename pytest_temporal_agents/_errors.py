"""The package's exception and warning base classes."""

from __future__ import annotations


class TemporalAgentsError(Exception):
    """Base class of every error raised by pytest-temporal-agents."""


class TemporalAgentsWarning(UserWarning):
    """Base class of every warning issued by pytest-temporal-agents."""


class TemporalConfigError(TemporalAgentsError):
    """An option, ini setting or marker argument has an invalid value."""


class ServerBinaryNotFound(TemporalAgentsError):
    """A Temporal server binary is not installed; the message names the pip package."""


class WorkflowTimeoutError(TemporalAgentsError, AssertionError):
    """A workflow did not finish within the test's Temporal timeout.

    It is an ``AssertionError`` too, so pytest reports it as a test failure.
    """


class BodyTimeoutError(TemporalAgentsError, AssertionError):
    """A test body did not finish within its Temporal timeout (plus a grace) and was stopped.

    The message says where it was waiting. An ``AssertionError``, so pytest reports a failure.
    """


class HarnessUsageError(TemporalAgentsError):
    """The harness was used in a way that cannot work; the message says how to fix it."""


class ServerDiedError(TemporalAgentsError, AssertionError):
    """A Temporal server this session started died; the message has its last log lines.

    An ``AssertionError``, so pytest reports the test that met the dead server as failed.
    """
