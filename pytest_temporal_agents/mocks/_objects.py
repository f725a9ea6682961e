"""The mock objects a test holds: call records, assertions and expectations.

The harness (``_mocks.MockingFeature``) creates them and wires them into workers; this
module knows nothing of workers. A mock learns the real activity's or workflow's
signature when it is bound, and from then on records arguments decoded to their declared
types, bound to parameter names with defaults applied.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from .._errors import HarnessUsageError
from ._behaviour import Behaviour, maybe_await
from ._fakes import fake_value, seed_for

BAD_EXPECTATION = """\
{mock}.expect({given}) is invalid: times=, at_least= and at_most= are counts >= 0, and
times= excludes the other two. For example expect(times=2) or expect(at_least=1, at_most=3)."""


@dataclass
class MockCall:
    """One call of a mocked activity (one attempt), child workflow or Nexus operation.

    Attributes:
        name: registered activity / workflow type name; ``Service.operation`` for Nexus.
        kind: ``"activity"``, ``"workflow"`` or ``"nexus operation"``.
        args: arguments decoded to their declared types, defaults applied.
        arguments: the same by parameter name.
        attempt: activity attempt (1 for the first), child workflow attempt, or which
            delivery of one Nexus operation this is (the server retries a failed start).
        workflow_id: the calling workflow (activities, Nexus operations) or the child
            itself (workflows).
        run_id: that workflow's run id.
        workflow_time: workflow time of the call: when this attempt was scheduled
            (activities), when the child started (workflows), or the server's time when
            the operation's handler ran (Nexus).
        parent_workflow_id: for child workflows, the parent's id.
        activity_id: for activities, the activity id within the workflow.
        index: position in the test's call log, across every mock (1-based).
        result: what the mock returned; ``error``: what it raised.
    """

    name: str
    kind: str
    args: tuple[Any, ...]
    arguments: dict[str, Any]
    attempt: int
    workflow_id: str
    run_id: str | None
    workflow_time: datetime | None
    parent_workflow_id: str | None = None
    activity_id: str | None = None
    index: int = 0
    result: Any = None
    error: BaseException | None = None

    def describe(self) -> str:
        """``name(args) attempt N, workflow 'id'`` for messages."""
        args = ", ".join(repr(arg) for arg in self.args)
        where = f"workflow {self.workflow_id!r}"
        if self.parent_workflow_id:
            where += f" (child of {self.parent_workflow_id!r})"
        return f"{self.name}({args}) attempt {self.attempt}, {where}"


@dataclass
class _Expectation:
    times: int | None = None
    at_least: int | None = None
    at_most: int | None = None

    def unmet(self, count: int) -> str | None:
        if self.times is not None and count != self.times:
            return f"exactly {_calls(self.times)}"
        if self.at_least is not None and count < self.at_least:
            return f"at least {_calls(self.at_least)}"
        if self.at_most is not None and count > self.at_most:
            return f"at most {_calls(self.at_most)}"
        return None


def _calls(count: int) -> str:
    return f"{count} call" + ("" if count == 1 else "s")


class Mock:
    """A mocked activity or child workflow: its behaviour and every call it received."""

    kind: ClassVar[str] = "activity"

    def __init__(
        self,
        name: str,
        behaviour: Behaviour,
        *,
        log: list[MockCall],
        seed: Callable[[], int],
        sleep: Callable[[timedelta], Awaitable[None]],
    ) -> None:
        self.name = name
        self.calls: list[MockCall] = []
        self._behaviour = behaviour
        self._log = log
        self._seed = seed
        self._sleep = sleep
        self._signature: inspect.Signature | None = None
        self._arg_types: list[Any] | None = None
        self._return_type: Any = None
        self._bound = False
        self._expectations: list[_Expectation] = []
        behaviour.validate(self.label)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {_calls(self.call_count)}>"

    @property
    def label(self) -> str:
        return f"{self.kind} mock {self.name!r}"

    # -- records ------------------------------------------------------------------------
    @property
    def call_count(self) -> int:
        """How many times it was called (each activity attempt is a call)."""
        return len(self.calls)

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def last_call(self) -> MockCall | None:
        return self.calls[-1] if self.calls else None

    # -- assertions -----------------------------------------------------------------------
    def assert_called(self) -> None:
        """Raises AssertionError if it was never called."""
        if not self.calls:
            raise AssertionError(f"expected {self.label} to be called; it was not called")

    def assert_called_once(self) -> None:
        if self.call_count != 1:
            raise AssertionError(f"expected {self.label} to be called once; {self._history()}")

    def assert_not_called(self) -> None:
        if self.calls:
            raise AssertionError(f"expected {self.label} not to be called; {self._history()}")

    def assert_called_with(self, *args: Any, **kwargs: Any) -> None:
        """The last call had these arguments (keywords bind to parameter names)."""
        expected = self._expected(args, kwargs)
        if not self.calls or self.calls[-1].args != expected:
            raise AssertionError(
                f"expected the last call of {self.label} to be {self._show(expected)}; {self._history()}"
            )

    def assert_called_once_with(self, *args: Any, **kwargs: Any) -> None:
        """Exactly one call, with these arguments."""
        expected = self._expected(args, kwargs)
        if self.call_count != 1 or self.calls[0].args != expected:
            raise AssertionError(
                f"expected {self.label} to be called once as {self._show(expected)}; {self._history()}"
            )

    def assert_any_call(self, *args: Any, **kwargs: Any) -> None:
        expected = self._expected(args, kwargs)
        if not any(call.args == expected for call in self.calls):
            raise AssertionError(
                f"expected {self.label} to have been called as {self._show(expected)}; {self._history()}"
            )

    # -- expectations verified at teardown --------------------------------------------------
    def expect(
        self, times: int | None = None, *, at_least: int | None = None, at_most: int | None = None
    ) -> Mock:
        """Expect a number of calls; checked when the test ends (Go's ``.Times(n)``).

        Args:
            times: exactly this many calls (``0`` is Go's ``.Never()``).
            at_least: at least this many.
            at_most: at most this many.

        Returns:
            The mock, so that declaration and expectation read as one line.
        """
        counts = [times, at_least, at_most]
        if (
            all(count is None for count in counts)
            or any(count is not None and (not isinstance(count, int) or count < 0) for count in counts)
            or (times is not None and (at_least is not None or at_most is not None))
        ):
            given = ", ".join(f"{k}={v!r}" for k, v in zip(("times", "at_least", "at_most"), counts) if v is not None)
            raise HarnessUsageError(BAD_EXPECTATION.format(mock=self.label, given=given))
        self._expectations.append(_Expectation(times, at_least, at_most))
        return self

    def problems(self) -> list[str]:
        """Unmet expectations and exhausted sequences, one ``- item`` per line."""
        lines = [f"- {problem}" for problem in self._behaviour.exhausted]
        for expectation in self._expectations:
            unmet = expectation.unmet(self.call_count)
            if unmet is not None:
                got = self._history() if self.calls else "none"
                lines.append(f"- {self.label}: expected {unmet}, got {got}")
        return lines

    # -- binding to the real signature ----------------------------------------------------
    def bind(
        self,
        signature: inspect.Signature | None,
        arg_types: Sequence[Any] | None,
        return_type: Any,
        check_returns: Callable[[Any], None],
    ) -> None:
        """Learn the real signature; check the behaviour against it (errors name the mock)."""
        self._signature, self._return_type = signature, return_type
        self._arg_types = list(arg_types) if arg_types is not None else None
        self._bound = True
        params = None
        if signature is not None:
            params = [
                p.name for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        self._behaviour.check(self.label, self.kind, params, return_type, check_returns)

    # -- being called ---------------------------------------------------------------------
    async def begin(self, raw_args: Sequence[Any], context: dict[str, Any]) -> MockCall:
        """Record a call and run its side effect."""
        args, arguments = self._bind_args(tuple(raw_args))
        call = MockCall(self.name, self.kind, args, arguments, index=len(self._log) + 1, **context)
        self.calls.append(call)
        self._log.append(call)
        if self._behaviour.side_effect is not None:
            try:
                await maybe_await(self._behaviour.side_effect(*args))
            except BaseException as err:
                call.error = err
                raise
        return call

    async def finish(self, call: MockCall) -> Any:
        """Produce the call's result (or raise its error), and record it."""
        try:
            call.result = await self._produce(call)
        except BaseException as err:
            call.error = err
            raise
        return call.result

    async def invoke(self, raw_args: Sequence[Any], context: dict[str, Any]) -> Any:
        """A whole call: record, side effect, ``after`` (in server time), result."""
        call = await self.begin(raw_args, context)
        if self._behaviour.after:
            await self._sleep(self._behaviour.after)
        return await self.finish(call)

    async def _produce(self, call: MockCall) -> Any:
        def fake() -> Any:
            seed = seed_for(self._seed(), self.kind, self.name, call.index)
            return fake_value(self._return_type, seed=seed, owner=self.label)

        return await self._behaviour.produce(self.label, call.args, call.workflow_id, fake)

    def _bind_args(self, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self._signature is not None:
            try:
                bound = self._signature.bind(*args)
                bound.apply_defaults()
                return tuple(bound.arguments.values()), dict(bound.arguments)
            except TypeError:
                pass
        return args, {}

    def _expected(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        if self._signature is None:
            if kwargs:
                raise HarnessUsageError(
                    f"{self.label} does not know its parameter names yet (no worker has registered "
                    "it): pass the expected arguments positionally."
                )
            return args
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as err:
            raise HarnessUsageError(
                f"the expected arguments do not fit {self.name}{self._signature}: {err}"
            ) from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _show(self, args: tuple[Any, ...]) -> str:
        return f"{self.name}({', '.join(repr(arg) for arg in args)})"

    def _history(self) -> str:
        if not self.calls:
            return "it was not called"
        listed = "; ".join(f"{n}. {call.describe()}" for n, call in enumerate(self.calls, 1))
        return f"{_calls(self.call_count)}: {listed}"


class ActivityMock(Mock):
    """A mocked activity (see :meth:`TemporalHarness.mock_activity`)."""

    kind = "activity"


class WorkflowMock(Mock):
    """A mocked child workflow (see :meth:`TemporalHarness.mock_child_workflow`)."""

    kind = "workflow"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[tuple[str, str | None], MockCall] = {}


class NexusOperationMock(Mock):
    """A mocked Nexus operation (see :meth:`TemporalHarness.mock_nexus_operation`).

    Attributes:
        service: the Nexus service's name.
        operation_name: the operation's name.
        endpoint: the endpoint the harness creates for the service, pointing at the mock:
            the name the workflow's ``workflow.create_nexus_client(endpoint=...)`` must use.
    """

    kind = "nexus operation"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = self.operation_name = self.endpoint = ""
        self.operation: Any = None  # the service's nexusrpc.Operation, when given
        self.input_type: Any = None
        self.output_type: Any = None


def assert_call_order(log: Sequence[MockCall], mocks: Sequence[Mock]) -> None:
    """The mocks were called in this order (other calls may come between).

    Raises:
        AssertionError: listing the expected order and the test's whole call log.
    """
    position = 0
    for mock in mocks:
        while position < len(log) and not (
            log[position].name == mock.name and log[position].kind == mock.kind
        ):
            position += 1
        if position == len(log):
            expected = " -> ".join(m.name for m in mocks)
            happened = "\n".join(f"- {call.index}. {call.describe()}" for call in log) or "- (no calls)"
            raise AssertionError(
                f"expected calls in the order {expected}, but no call of {mock.label} follows "
                f"the earlier ones. The test's calls, in order:\n{happened}"
            )
        position += 1


__all__ = ["ActivityMock", "Mock", "MockCall", "NexusOperationMock", "WorkflowMock", "assert_call_order"]
