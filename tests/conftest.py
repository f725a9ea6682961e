"""Suite-wide test configuration."""

# Imported here so that pytester's in-process runs keep them: pytester drops every module
# a nested run imported, and hypothesis's plugin imports these at each run's terminal
# summary (about a second per nested run when re-imported every time).
import hypothesis  # noqa: F401
import hypothesis.statistics  # noqa: F401

pytest_plugins = ["pytester"]
