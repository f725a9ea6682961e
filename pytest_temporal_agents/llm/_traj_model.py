"""A :class:`Trajectory`: an agent's model and tool calls, its queries and its assertions.

A trajectory answers questions (``tools_called``, ``count``) and makes assertions whose
failures show the numbered timeline of the whole trajectory, the steps in question flagged
with ``>>``.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._errors import HarnessUsageError, TemporalAgentsError
from ..history import History
from ._traj_steps import MODEL, TOOL, Step, call_name, render_steps

#: A tool or model activity, as an assertion names it: the activity function, the workflow
#: class (or its run method) of a child, or the registered name.
Target = Callable[..., Any] | type | str

HEADER = (
    "Trajectory of workflow {id!r} ({type}), {status}: {models} model call(s), {tools} tool call(s)"
)

TOOLS_DIFFER = """\
The agent's tool calls are not {what}.
  expected: {expected}
  actual:   {actual}{missing}"""

NOT_IN_ORDER = """\
{kind} {expected} did not happen in this order: {found}.{hint}"""

CALLED_DIFFERENTLY = """\
{name} was called {count} time(s){matching}; expected {expected}.{hint}"""

CALLED = """\
{name} was called {count} time(s), but it should never be called."""

MODEL_CALLS = """\
The agent made {count} model call(s); expected {expected}."""

CALLED_AFTER = """\
{tool} was called after {other}: {steps} came after step {first}, {other}'s first call."""

WITH_ARGS = """\
assert_called(): with_args={with_args!r} must be a tuple (or list) of the expected
arguments, or a predicate that takes the arguments and returns True for a match."""

NO_BOUND = """\
assert_model_calls() needs at_most=, at_least= or exactly= (a number of model calls)."""


class TrajectoryAssertionError(TemporalAgentsError, AssertionError):
    """A trajectory assertion failed: what differs, then the numbered timeline of the steps."""


class Trajectory:
    """The model calls and tool calls of a workflow run, in the order its history records them.

    Build one with ``temporal.trajectory(handle)`` in a test, or :func:`trajectory_of` from
    any :class:`~pytest_temporal_agents.History`. Tools and models are named by their activity
    function, child workflow class, or registered name.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        workflow_id: str = "",
        workflow_type: str = "",
        status: str = "",
        history: History | None = None,
    ) -> None:
        self.steps: list[Step] = list(steps)
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.status = status
        #: The history the steps were read from (the workflow's own, not its children's).
        self.history = history

    # -- queries ------------------------------------------------------------------------------
    @property
    def model_calls(self) -> list[Step]:
        return [step for step in self.steps if step.kind == MODEL]

    @property
    def tool_calls(self) -> list[Step]:
        return [step for step in self.steps if step.kind == TOOL]

    @property
    def tools_called(self) -> list[str]:
        """The names of the tools called, in order, repeats kept."""
        return [step.name for step in self.tool_calls]

    def calls(self, target: Target) -> list[Step]:
        """Every call of one tool (or model activity), in order."""
        name = call_name(target)
        return [step for step in self.steps if step.name == name]

    def count(self, target: Target) -> int:
        """How many times a tool (or model activity) was called."""
        return len(self.calls(target))

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    # -- rendering ------------------------------------------------------------------------------
    def timeline(self, marks: Sequence[Step] = ()) -> str:
        """One numbered line per step (failed attempts beneath), ``marks`` flagged ``>>``."""
        return "\n".join(render_steps(self.steps, {step.number for step in marks}))

    def describe(self, marks: Sequence[Step] = ()) -> str:
        """The header line and the timeline."""
        header = HEADER.format(
            id=self.workflow_id,
            type=self.workflow_type,
            status=self.status,
            models=len(self.model_calls),
            tools=len(self.tool_calls),
        )
        return f"{header}\n{self.timeline(marks)}"

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"<Trajectory of {self.workflow_id!r}: {len(self.steps)} step(s)>"

    def _fail(self, problem: str, marks: Sequence[Step] = ()) -> TrajectoryAssertionError:
        return TrajectoryAssertionError(f"{problem}\n{self.describe(marks)}")

    # -- assertions -----------------------------------------------------------------------------
    def assert_tools_called(
        self, *tools: Target, in_order: bool = True, exactly: bool = False
    ) -> None:
        """Assert which tools the agent called.

        Args:
            *tools: the tools, repeated as often as they should be called.
            in_order: they were called in this order (other calls may come between them
                unless ``exactly``).
            exactly: no other tool call happened (and, in order, no call came between).

        Raises:
            TrajectoryAssertionError: the tool calls differ; the message shows the timeline.
        """
        expected = [call_name(tool) for tool in tools]
        actual = self.tools_called
        if in_order and not exactly:
            self._assert_in_order(self.tool_calls, expected, "Tool calls")
            return
        if in_order:
            ok, what = actual == expected, "exactly these, in this order"
        elif exactly:
            ok, what = Counter(actual) == Counter(expected), "exactly these, in any order"
        else:
            ok, what = not Counter(expected) - Counter(actual), "these, in any order"
        if not ok:
            missing = Counter(expected) - Counter(actual)
            lacking = f"\n  missing:  {sorted(missing.elements())}" if missing else ""
            raise self._fail(
                TOOLS_DIFFER.format(what=what, expected=expected, actual=actual, missing=lacking)
            )

    def assert_order(self, *targets: Target) -> None:
        """Assert that these calls (tools or model activities) happened in this order.

        Other calls may come between them: ``assert_order(call_model, search, call_model)``
        passes for model, search, fetch, model.

        Raises:
            TrajectoryAssertionError: no such order in the trajectory.
        """
        self._assert_in_order(self.steps, [call_name(t) for t in targets], "Calls")

    def assert_called(
        self,
        target: Target,
        *,
        times: int | None = None,
        with_args: Sequence[Any] | Callable[..., Any] | None = None,
    ) -> list[Step]:
        """Assert that a tool (or model activity) was called, and how.

        Args:
            target: the tool.
            times: it was called exactly this many times (with ``with_args``: this many
                calls matched); default at least once.
            with_args: only calls with these arguments count: a tuple of the expected
                arguments (compared with ``==``), or a predicate taking the arguments.

        Returns:
            The calls that count, in order.

        Raises:
            TrajectoryAssertionError: too few or too many calls; the message shows them.
        """
        name = call_name(target)
        calls = self.calls(name)
        matching = [step for step in calls if _matches(step, with_args)]
        if len(matching) == times or (times is None and matching):
            return matching
        expected = "at least once" if times is None else f"{times} time(s)"
        detail = "" if with_args is None else f" with_args={with_args!r} ({len(matching)} matching)"
        raise self._fail(
            CALLED_DIFFERENTLY.format(
                name=name,
                count=len(calls),
                matching=detail,
                expected=expected,
                hint=self._hint(name),
            ),
            calls,
        )

    def assert_not_called(self, target: Target) -> None:
        """Assert that a tool (or model activity) was never called.

        Raises:
            TrajectoryAssertionError: it was; the message flags its calls.
        """
        name = call_name(target)
        calls = self.calls(name)
        if calls:
            raise self._fail(CALLED.format(name=name, count=len(calls)), calls)

    def assert_model_calls(
        self, *, at_most: int | None = None, at_least: int | None = None, exactly: int | None = None
    ) -> None:
        """Assert how many model calls the agent made.

        Raises:
            TrajectoryAssertionError: the count is out of bounds.
            HarnessUsageError: no bound given.
        """
        if at_most is None and at_least is None and exactly is None:
            raise HarnessUsageError(NO_BOUND)
        count = len(self.model_calls)
        bounds = [
            (exactly, count == exactly, f"exactly {exactly}"),
            (at_least, at_least is not None and count >= at_least, f"at least {at_least}"),
            (at_most, at_most is not None and count <= at_most, f"at most {at_most}"),
        ]
        expected = " and ".join(text for bound, _, text in bounds if bound is not None)
        if not all(ok for bound, ok, _ in bounds if bound is not None):
            raise self._fail(MODEL_CALLS.format(count=count, expected=expected), self.model_calls)

    def assert_never_after(self, tool: Target, other: Target) -> None:
        """Assert that ``tool`` is never called after ``other`` was (once ``other`` ran,
        ``tool`` does not); it passes if either is never called.

        Raises:
            TrajectoryAssertionError: a call of ``tool`` came after ``other``'s first call.
        """
        name, other_name = call_name(tool), call_name(other)
        others = self.calls(other_name)
        if not others:
            return
        first = self.steps.index(others[0])
        late = [step for step in self.steps[first + 1 :] if step.name == name]
        if late:
            steps = ", ".join(f"step {step.number}" for step in late)
            problem = CALLED_AFTER.format(
                tool=name, other=other_name, steps=steps, first=others[0].number
            )
            raise self._fail(problem, [others[0], *late])

    # -- helpers ------------------------------------------------------------------------------
    def _assert_in_order(self, steps: Sequence[Step], expected: list[str], kind: str) -> None:
        found: list[Step] = []
        remaining = iter(steps)
        for name in expected:
            step = next((s for s in remaining if s.name == name), None)
            if step is None:
                break
            found.append(step)
        if len(found) == len(expected):
            return
        so_far = ", then ".join(f"{s.name} (step {s.number})" for s in found)
        missing = expected[len(found)]
        where = (
            f"{so_far}, then no {missing} after step {found[-1].number}"
            if found
            else f"no {missing}"
        )
        raise self._fail(
            NOT_IN_ORDER.format(
                kind=kind, expected=expected, found=where, hint=self._hint(missing)
            ),
            found,
        )

    def _hint(self, name: str) -> str:
        if any(step.name == name for step in self.steps):
            return ""
        names = sorted({step.name for step in self.steps})
        close = difflib.get_close_matches(name, names, n=3)
        suggestion = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        return f" No step is named {name!r}.{suggestion} Steps: {', '.join(names) or 'none'}."


def _matches(step: Step, with_args: Sequence[Any] | Callable[..., Any] | None) -> bool:
    if with_args is None:
        return True
    if step.args is None:  # the history does not keep them
        return False
    if callable(with_args):
        return bool(with_args(*step.args))
    if isinstance(with_args, (tuple, list)):
        return tuple(with_args) == step.args
    raise HarnessUsageError(WITH_ARGS.format(with_args=with_args))
