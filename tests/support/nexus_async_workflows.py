"""An asynchronous (workflow-run) Nexus operation, for tests/mocks/test_nexus_async.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import nexusrpc
from temporalio import nexus, workflow
from temporalio.exceptions import NexusOperationError


@dataclass
class Review:
    workflow_id: str  # the handler workflow's id, so that the test can end it
    hours: int


@workflow.defn
class ComplianceReview:
    """The handler's workflow: a review that takes ``hours`` of workflow time."""

    @workflow.run
    async def run(self, review: Review) -> str:
        await workflow.sleep(timedelta(hours=review.hours))
        return f"reviewed after {review.hours}h"


@nexusrpc.service
class Compliance:
    review: nexusrpc.Operation[Review, str]


@nexusrpc.handler.service_handler(service=Compliance)
class ComplianceHandler:
    @nexus.workflow_run_operation
    async def review(self, ctx: nexus.WorkflowRunOperationContext, review: Review) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(ComplianceReview.run, review, id=review.workflow_id)


@workflow.defn
class NeedsReview:
    @workflow.run
    async def run(self, endpoint: str, review: Review) -> str:
        client = workflow.create_nexus_client(service=Compliance, endpoint=endpoint)
        try:
            return await client.execute_operation(
                Compliance.review, review, schedule_to_close_timeout=timedelta(seconds=3)
            )
        except NexusOperationError as err:
            return f"failed: {err.cause}"
