"""Reading what an agent did from its workflow's real history: a :class:`Trajectory`.

:func:`trajectory_of` reads any :class:`~pytest_temporal_agents.History` (one saved to a
file, say); :func:`trajectory` is the body of ``temporal.trajectory(handle)``, which also
decodes with the test client's converter (codec included), to the types the test's workers
declare, and can follow child workflows into their own histories.

Model calls are the activities the test names (``model_activities=``), else those detected:
the OpenAI Agents integration's model activities and names that say so
(:data:`MODEL_NAME_PATTERN`). Every other call is a tool call, except what ``ignore=``
names and the harness's own helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio.converter import DataConverter

from ..history import History
from ._traj_build import (
    AGENTS_SDK_MODEL_ACTIVITIES,
    MODEL_NAME_PATTERN,
    Classifier,
    Definitions,
    StepMaker,
    decode_with_codec,
    raw_calls,
)
from ._traj_model import Target, Trajectory, TrajectoryAssertionError
from ._traj_steps import CHILD_WORKFLOW_CALL, Step

if TYPE_CHECKING:
    from temporalio.client import WorkflowHandle

    from .._context import TestContext


def trajectory_of(
    history: History,
    *,
    model_activities: Sequence[Target] | None = None,
    model_pattern: str | re.Pattern[str] | None = MODEL_NAME_PATTERN,
    ignore: Sequence[Target] = (),
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = (),
    data_converter: DataConverter | None = None,
) -> Trajectory:
    """The trajectory of a workflow run from its history (one saved to a file, say).

    Args:
        history: the run's history; a harness history adds every attempt it saw.
        model_activities: the activities that call a model (functions or names); default:
            detected (the Agents SDK's :data:`AGENTS_SDK_MODEL_ACTIVITIES` and names that
            ``model_pattern`` finds).
        model_pattern: what else detection takes for a model call, searched in the name and
            its snake_case spelling; None for the Agents SDK's and pydantic-ai's names alone.
        ignore: activities or child workflows that are no step of the agent.
        activities: activity definitions, to decode their arguments and results to the
            declared types (else they stay JSON values: dicts, lists, ...).
        workflows: child workflow classes, likewise.
        data_converter: the converter the payloads were written with (default: Temporal's;
            a payload codec needs the async ``temporal.trajectory``).

    Raises:
        HarnessUsageError: something named is not an activity, workflow or name.
    """
    classifier = Classifier.of(model_activities, model_pattern, ignore)
    definitions = Definitions().add([*activities, *workflows, *(model_activities or ())])
    calls = raw_calls(history, classifier)
    maker = StepMaker(data_converter or DataConverter.default, definitions, _origin(history))
    return _trajectory(history, maker.steps(calls))


async def trajectory(
    ctx: TestContext,
    handle: WorkflowHandle[Any, Any] | str,
    *,
    run_id: str | None = None,
    model_activities: Sequence[Target] | None = None,
    model_pattern: str | re.Pattern[str] | None = MODEL_NAME_PATTERN,
    ignore: Sequence[Target] = (),
    include_children: bool = False,
) -> Trajectory:
    """What the agent did: its model calls and tool calls, from the workflow's real history.

    Arguments and results are decoded with the test client's data converter (codec
    included), to the declared types of the activities and workflows this test's workers
    registered. Retries count every attempt the harness saw.

    Args:
        handle: the workflow's handle, or its id.
        run_id: with an id, a specific run (default: the latest).
        model_activities: the activities that call a model (functions or names); default:
            detected (the Agents SDK's model activities and names like ``call_llm``).
        model_pattern: what else detection takes for a model call; None for the Agents
            SDK's names alone.
        ignore: activities or child workflows that are no step of the agent.
        include_children: follow each child workflow into its own history: its steps come
            right after the child's, numbered ``3.1``, ``3.2`` and counted like the others.

    Raises:
        HarnessUsageError: something named is not an activity, workflow or name.
    """
    classifier = Classifier.of(model_activities, model_pattern, ignore)
    definitions = Definitions().add([*(model_activities or ())])
    for record in ctx.workers:
        definitions.add([*record.activities, *record.workflows])
    history = await ctx.history(handle, run_id)
    maker = StepMaker(ctx.client.data_converter, definitions, _origin(history))

    async def steps_of(run: History, prefix: str, depth: int) -> list[Step]:
        calls = raw_calls(run, classifier)
        await decode_with_codec(calls, maker.converter)
        steps: list[Step] = []
        for number, raw in enumerate(calls, 1):
            steps.append(maker.step(raw, f"{prefix}{number}", depth))
            if include_children and raw.call == CHILD_WORKFLOW_CALL and raw.run_id:
                child = await ctx.history(raw.id, raw.run_id)
                steps.extend(await steps_of(child, f"{prefix}{number}.", depth + 1))
        return steps

    return _trajectory(history, await steps_of(history, "", 0))


def _origin(history: History) -> datetime:
    """When the run started: what step times count from."""
    return history.events[0].event_time.ToDatetime() if history.events else datetime.min


def _trajectory(history: History, steps: list[Step]) -> Trajectory:
    return Trajectory(
        steps,
        workflow_id=history.workflow_id,
        workflow_type=history.workflow_type,
        status=history.status,
        history=history,
    )


__all__ = [
    "AGENTS_SDK_MODEL_ACTIVITIES",
    "MODEL_NAME_PATTERN",
    "Step",
    "Target",
    "Trajectory",
    "TrajectoryAssertionError",
    "trajectory",
    "trajectory_of",
]
