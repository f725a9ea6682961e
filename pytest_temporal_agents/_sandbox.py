"""The workflow sandbox the harness's workers use: Temporal's default, test tooling passed through.

The sandbox re-imports a workflow's module for every run. A test module that defines a
workflow also imports pytest, this plugin, hypothesis...; re-importing those inside the
sandbox is slow and can trip its restrictions (this plugin's modules resolve paths at import
time). They are never workflow code, so they pass through; the workflow code itself keeps
every default restriction.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

TEST_TOOLING = (
    "pytest", "_pytest", "pluggy", "iniconfig", "pytest_asyncio", "pytest_temporal_agents",
    "hypothesis", "faker", "freezegun", "xdist",
)  # fmt: skip


def sandboxed_runner() -> SandboxedWorkflowRunner:
    """Temporal's default sandboxed runner with the test tooling passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*TEST_TOOLING)
    )
