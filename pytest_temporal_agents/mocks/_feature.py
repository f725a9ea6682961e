"""Harness feature: activity and child-workflow mocks, replaced by registered name.

Mocks are applied where workers are built (the harness's transformers), so a worker
never registers the real activity or child workflow a test mocked; the rest of what the
test registers stays real. A mocked activity is a generated activity with the real one's
name, parameters and type hints, so the SDK decodes its arguments exactly as it would for
the real one. A mocked child workflow is a generated workflow class (see ``_workflows``)
that hands the call to a local activity on the same worker, where the mock runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import temporalio.activity
import temporalio.workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from .._context import TestContext
from .._errors import HarnessUsageError
from .._sdk import (
    activity_definition,
    activity_name,
    must_activity_definition,
    must_workflow_definition,
    workflow_class_of,
    workflow_definition,
    workflow_name,
)
from ._behaviour import UNSET, Behaviour
from ._fakes import seed_for
from ._nexus import NexusMocks
from ._objects import (
    ActivityMock,
    Mock,
    MockCall,
    NexusOperationMock,
    WorkflowMock,
    assert_call_order,
)
from ._workflows import MOCK_CHILD_ACTIVITY, mocked_workflow_class, unpack

M = TypeVar("M", ActivityMock, WorkflowMock, NexusOperationMock)

UNKNOWN_ACTIVITY = """\
temporal.mock_activity({name!r}) mocks an activity that no worker of this test registers.
{suggestion}Registered activities: {registered}.
Mock by function instead (temporal.mock_activity(fetch_prices)): a function mock needs no
registered twin, so it also covers activities that only another worker or language serves."""

UNKNOWN_WORKFLOW = """\
temporal.mock_child_workflow({name!r}) mocks a workflow type that no worker of this test
registers, and {close} is. Did you mean {close}? Registered workflows: {registered}.
(To mock a child that no worker registers at all, pass a name with no close match.)"""

DECLARED_TOO_LATE = """\
temporal.{method}({name!r}) was declared while a worker of this test is running (task queue
{queue!r}); that worker keeps what it registered. Declare mocks before temporal.run(),
temporal.start() or `async with temporal.worker(...)` builds the worker."""

ALREADY_MOCKED = """\
{label} is already mocked in this test. Get that mock with temporal.mock({name!r});
for different results per call use one mock with sequence=[...] or returns=<function>."""

NOT_MOCKED = """\
{target!r} is not mocked in this test. Mocked activities: {activities}; mocked workflows:
{workflows}; mocked Nexus operations: {nexus}. Declare it with temporal.mock_activity(...),
temporal.mock_child_workflow(...) or temporal.mock_nexus_operation(...)."""


class MocksFeature:
    """Activity and child-workflow mocks: the harness's ``mock_*`` methods, applied where
    workers are built (:meth:`replace_activities`, :meth:`replace_workflows`) and checked
    at teardown (:meth:`problems`)."""

    def __init__(self, ctx: TestContext) -> None:
        self._ctx = ctx
        self._activity_mocks: dict[str, ActivityMock] = {}
        self._workflow_mocks: dict[str, WorkflowMock] = {}
        self._mock_log: list[MockCall] = []
        self._mock_activities: dict[str, Callable[..., Any]] = {}
        self._activities_in_play: set[str] = set()
        self._workflows_in_play: set[str] = set()
        #: Child mocks declared by type name alone: only these can be typos of a real name.
        self._named_only: set[str] = set()
        self._child_activity: Callable[..., Any] | None = None
        #: Seed of values faked for mocks without a behaviour; derived from the test's id,
        #: so the same test fakes the same values on every run. Assign to change it
        #: (it applies to calls made afterwards).
        self.seed: int = seed_for(ctx.id_prefix.rsplit("-", 1)[0])
        self._nexus = NexusMocks(ctx, lambda name, behaviour: self._new(NexusOperationMock, name, behaviour))

    # -- declaring --------------------------------------------------------------------------
    def mock_activity(
        self,
        activity: Callable[..., Any] | str,
        *,
        returns: Any = UNSET,
        raises: BaseException | type[BaseException] | None = None,
        sequence: Sequence[Any] | None = None,
        side_effect: Callable[..., Any] | None = None,
        after: timedelta | None = None,
    ) -> ActivityMock:
        """Replace an activity, by registered name, in every worker this test builds.

        Workers list the real activity as usual (or not at all): the mock takes its place
        with the same name and signature, so arguments arrive decoded to their declared
        types. Without ``returns``/``raises``/``sequence`` it returns a value faked from
        the return annotation, deterministic per test.

        Args:
            activity: the activity function (or its registered name).
            returns: the result, or a function of the arguments (may be async) that
                computes it. Checked against the return type now.
            raises: an exception (instance or class) every call raises; the SDK turns it
                into the activity failure the workflow sees, retries included.
            sequence: one result per call, in order; an exception item is raised for
                its call. Running out fails the call (non-retryable) and the test.
            side_effect: called with the arguments on every call before the result is
                produced (may be async); what it raises fails the call.
            after: each call takes this much server time before returning (Go's
                ``.After``): skipped at once under time skipping, so timeouts and timers
                of the workflow see it.

        Returns:
            The mock: call records, assertions, :meth:`Mock.expect`.

        Raises:
            HarnessUsageError: a worker is already running, the activity is already
                mocked, or the behaviour does not fit the activity's signature.
        """
        name = activity_name(activity)
        self._refuse_late("mock_activity", name)
        if name in self._activity_mocks:
            raise HarnessUsageError(ALREADY_MOCKED.format(label=f"activity {name!r}", name=name))
        mock = self._new(ActivityMock, name, Behaviour(returns, raises, sequence, side_effect, after))
        if not isinstance(activity, str):
            self._bind_activity(mock, activity)
        self._activity_mocks[name] = mock
        return mock

    def mock_child_workflow(
        self,
        workflow: type | Callable[..., Any] | str,
        *,
        returns: Any = UNSET,
        raises: BaseException | type[BaseException] | None = None,
        sequence: Sequence[Any] | None = None,
        side_effect: Callable[..., Any] | None = None,
        after: timedelta | None = None,
    ) -> WorkflowMock:
        """Replace a child workflow, by workflow type name, in every worker this test builds.

        The parent starts the child as usual; a stand-in workflow registered under the
        child's name records the call (arguments decoded to the run method's types,
        parent id, workflow time) and completes with the mock's result, or fails with
        its error, which the parent sees as a ``ChildWorkflowError``.

        Args:
            workflow: the child's workflow class or ``run`` method (or its type name).
            returns, raises, sequence, side_effect: as for :meth:`mock_activity`. A raised
                ``ApplicationError`` fails the child as it would fail the real one.
            after: the child takes this much workflow time (a timer) before finishing.

        Returns:
            The mock.
        """
        cls = _workflow_class(workflow)
        name = workflow if isinstance(workflow, str) else workflow_name(cls or workflow)  # type: ignore[arg-type]
        self._refuse_late("mock_child_workflow", name)
        if name in self._workflow_mocks:
            raise HarnessUsageError(ALREADY_MOCKED.format(label=f"workflow {name!r}", name=name))
        mock = self._new(WorkflowMock, name, Behaviour(returns, raises, sequence, side_effect, after))
        if cls is not None:
            defn = must_workflow_definition(cls)
            signature = inspect.signature(defn.run_fn)
            params = list(signature.parameters.values())[1:]  # without self
            mock.bind(signature.replace(parameters=params), defn.arg_types, defn.ret_type,
                      self._return_check(defn.ret_type))
        self._workflow_mocks[name] = mock
        if isinstance(workflow, str):
            self._named_only.add(name)
        return mock

    def mock_nexus_operation(
        self,
        service: type | str,
        operation: Any,
        *,
        endpoint: str | None = None,
        returns: Any = UNSET,
        raises: BaseException | type[BaseException] | None = None,
        sequence: Sequence[Any] | None = None,
        side_effect: Callable[..., Any] | None = None,
    ) -> NexusOperationMock:
        """Mock a Nexus operation: the harness serves the service behind a real endpoint.

        The workflow calls the operation as usual, through
        ``workflow.create_nexus_client(service=..., endpoint=...)``; the harness creates
        that endpoint on the server for the test (deleted at its end), pointing at a
        handler of its own where the mock answers, and records each call (the input
        decoded to the operation's input type, the calling workflow, attempt, time).

        Args:
            service: the ``@nexusrpc.service`` class (or the service's name).
            operation: the operation (``MyService.my_operation``) or its name.
            endpoint: the endpoint name the workflow uses; default a name made up for
                the test, read from the mock's ``endpoint`` and passed to the workflow.
            returns, raises, sequence, side_effect: as for :meth:`mock_activity`. An
                ``ApplicationError(non_retryable=True)`` or a ``nexusrpc.OperationError``
                fails the operation; other errors are retried by the server.

        Returns:
            The mock: call records, assertions, :meth:`Mock.expect`.

        Raises:
            HarnessUsageError: a worker is already running, the operation is already
                mocked or not in the service, a bad endpoint name or behaviour.
        """
        label = f"{getattr(service, '__name__', service)}.{getattr(operation, 'name', operation)}"
        self._refuse_late("mock_nexus_operation", label)
        already = self._nexus.is_mocked(service, operation)
        if already:
            raise HarnessUsageError(ALREADY_MOCKED.format(label=f"Nexus operation {already!r}", name=already))
        signature = inspect.Signature([inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD)])

        def bind(mock: NexusOperationMock) -> None:
            types = [mock.input_type] if mock.input_type is not None else None
            mock.bind(signature, types, mock.output_type, self._return_check(mock.output_type))

        behaviour = Behaviour(returns, raises, sequence, side_effect)
        return self._nexus.declare(service, operation, endpoint, behaviour, bind)

    async def serve_nexus(self) -> None:
        """Before the test's first worker: the mocked services' handler and endpoints."""
        await self._nexus.serve()

    async def release_nexus(self) -> list[str]:
        """At teardown: delete the endpoints this test created."""
        return await self._nexus.release()

    def mock(self, target: Callable[..., Any] | type | str | Mock) -> Mock:
        """The mock declared for an activity, workflow (function, class or name) or Nexus
        operation (``Service.operation`` or ``"Service.operation"``)."""
        if isinstance(target, Mock):
            return target
        nexus = self._nexus.find(target)
        if nexus is not None:
            return nexus
        if isinstance(target, str):
            found = self._activity_mocks.get(target) or self._workflow_mocks.get(target)
        elif isinstance(target, type) or _workflow_class(target) is not None:
            cls = _workflow_class(target)
            found = self._workflow_mocks.get(workflow_name(cls)) if cls else None
        else:
            found = self._activity_mocks.get(activity_name(target))
        if found is None:
            raise HarnessUsageError(NOT_MOCKED.format(
                target=target, activities=sorted(self._activity_mocks) or "none",
                workflows=sorted(self._workflow_mocks) or "none",
                nexus=sorted(mock.name for mock in self._nexus.mocks) or "none",
            ))
        return found

    @property
    def mock_calls(self) -> list[MockCall]:
        """Every call of every mock of this test, in the order they happened."""
        return list(self._mock_log)

    def assert_call_order(self, *targets: Callable[..., Any] | type | str | Mock) -> None:
        """Assert that these mocks were called in this order (other calls may interleave).

        Raises:
            AssertionError: listing the expected order and every call of the test.
        """
        assert_call_order(self._mock_log, [self.mock(target) for target in targets])

    def assert_expectations(self) -> None:
        """Check every mock's expectations now (they are also checked at teardown)."""
        problems = [line for mock in self._all_mocks() for line in mock.problems()]
        if problems:
            raise AssertionError("mock expectations not met:\n" + "\n".join(problems))

    # -- wiring into workers ----------------------------------------------------------------
    def _all_mocks(self) -> list[Mock]:
        return [*self._activity_mocks.values(), *self._workflow_mocks.values(), *self._nexus.mocks]

    async def problems(self) -> list[str]:
        return [line for mock in self._all_mocks() for line in mock.problems()]

    def _new(self, kind: type[M], name: str, behaviour: Behaviour) -> M:
        """A mock that logs its calls with the others and fakes values from the test's seed."""
        return kind(name, behaviour, log=self._mock_log, seed=lambda: self.seed, sleep=self._ctx.env.sleep)

    def _refuse_late(self, method: str, name: str) -> None:
        for record in self._ctx.workers:
            if not record.helper:
                raise HarnessUsageError(
                    DECLARED_TOO_LATE.format(method=method, name=name, queue=record.task_queue)
                )

    def _return_check(self, return_type: Any) -> Callable[[Any], None]:
        converter = self._ctx.client.data_converter.payload_converter

        def check(value: Any) -> None:
            # A record of another class could decode when its fields happen to fit.
            if _is_record(value) and isinstance(return_type, type) and not isinstance(value, return_type):
                raise TypeError(f"it is {type(value).__qualname__}, not {return_type.__qualname__}")
            converter.from_payload(converter.to_payload(value), return_type)

        return check

    def _bind_activity(self, mock: ActivityMock, real: Callable[..., Any]) -> None:
        defn = must_activity_definition(real)
        signature = inspect.signature(real)
        params = list(signature.parameters.values())
        if params and params[0].name == "self" and not inspect.ismethod(real):
            # An activity method named through its class (Agents.risk_agent): the worker
            # registers it bound, so calls carry no self.
            signature = signature.replace(parameters=params[1:])
        mock.bind(signature, defn.arg_types, defn.ret_type, self._return_check(defn.ret_type))
        self._mock_activities[mock.name] = _mirror_activity(mock, signature, defn.arg_types, defn.ret_type)

    def replace_activities(self, activities: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
        names = [_activity_name_or_none(fn) for fn in activities]
        real = {name: fn for name, fn in zip(names, activities) if name and not _is_mock(fn)}
        self._activities_in_play.update(real)
        for name, mock in self._activity_mocks.items():
            if name in self._mock_activities:
                continue
            if name not in real:
                close = near_names(name, self._activities_in_play, n=3)
                raise HarnessUsageError(UNKNOWN_ACTIVITY.format(
                    name=name,
                    suggestion=f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else "",
                    registered=", ".join(sorted(self._activities_in_play)) or "none",
                ))
            self._bind_activity(mock, real[name])
        result = [self._mock_activities.get(name or "", fn) for name, fn in zip(names, activities)]
        present = set(names)
        result += [fn for name, fn in self._mock_activities.items() if name not in present]
        if self._workflow_mocks and MOCK_CHILD_ACTIVITY not in present:
            result.append(self._child_call_activity())
        return result

    def replace_workflows(self, workflows: list[type]) -> list[type]:
        names = [_workflow_name_or_none(cls) for cls in workflows]
        mock_classes = {mocked_workflow_class(name) for name in self._workflow_mocks}
        self._workflows_in_play.update(n for n, c in zip(names, workflows) if n and c not in mock_classes)
        if not self._workflow_mocks or not workflows:
            return workflows
        for name in self._named_only:
            if name not in self._workflows_in_play:
                close = near_names(name, self._workflows_in_play, n=1)
                if close:
                    raise HarnessUsageError(UNKNOWN_WORKFLOW.format(
                        name=name, close=repr(close[0]), registered=", ".join(sorted(self._workflows_in_play)),
                    ))
        kept = [cls for name, cls in zip(names, workflows) if name not in self._workflow_mocks]
        return kept + [mocked_workflow_class(name) for name in self._workflow_mocks]

    def _child_call_activity(self) -> Callable[..., Any]:
        if self._child_activity is not None:
            return self._child_activity
        converter = self._ctx.client.data_converter.payload_converter
        mocks = self._workflow_mocks

        async def mock_child_workflow_call(phase: str, meta: dict[str, Any], blob: bytes) -> Any:
            mock = mocks.get(meta["workflow_type"])
            if mock is None:  # a mock cannot be removed, so only a bug gets here
                raise ApplicationError(f"no mock for workflow {meta['workflow_type']!r}", non_retryable=True)
            key = (meta["workflow_id"], meta["run_id"])
            if phase == "result":
                result = await mock.finish(mock.pending.pop(key))
                return RawValue(converter.to_payload(result))
            payloads = unpack(blob)
            types = mock._arg_types if mock._arg_types and len(mock._arg_types) == len(payloads) else None
            args = converter.from_payloads(payloads, types)
            context = {
                "attempt": meta["attempt"],
                "workflow_id": meta["workflow_id"],
                "run_id": meta["run_id"],
                "workflow_time": datetime.fromisoformat(meta["time"]),
                "parent_workflow_id": meta["parent_workflow_id"],
            }
            mock.pending[key] = await mock.begin(args, context)
            after = mock._behaviour.after
            return after.total_seconds() if after else 0.0

        self._child_activity = temporalio.activity.defn(name=MOCK_CHILD_ACTIVITY)(mock_child_workflow_call)
        return self._child_activity


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: inserts, deletes and substitutions that turn ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]


def near_names(name: str, candidates: Iterable[str], *, n: int) -> list[str]:
    """Names that ``name`` is plausibly a typo of: a few edits apart, never ``name`` itself.

    ``difflib`` alone calls 'ComposeWelcomeWorkflow' close to 'WelcomeWorkflow' (the parent
    that starts it); a typo changes a character or two, not a whole word.
    """
    allowed = max(2, len(name) // 6)
    scored = sorted((_edits(name.lower(), c.lower()), c) for c in set(candidates) if c != name)
    return [c for distance, c in scored if distance <= allowed][:n]


def _mirror_activity(
    mock: ActivityMock, signature: inspect.Signature, arg_types: Sequence[Any] | None, ret_type: Any
) -> Callable[..., Any]:
    """An async activity with the real one's name, parameters and (resolved) type hints."""

    async def mocked_activity(*args: Any) -> Any:
        info = temporalio.activity.info()
        return await mock.invoke(args, {
            "attempt": info.attempt,
            "workflow_id": info.workflow_id or "",
            "run_id": info.workflow_run_id,
            "workflow_time": info.current_attempt_scheduled_time,
            "activity_id": info.activity_id,
        })

    params = list(signature.parameters.values())
    if arg_types is not None and len(arg_types) == len(params):
        # Resolved types, not the real module's strings: they must not need its globals.
        params = [p.replace(annotation=tp) for p, tp in zip(params, arg_types)]
    else:
        params = [p.replace(annotation=p.empty) for p in params]
    annotations = {p.name: p.annotation for p in params if p.annotation is not p.empty}
    if ret_type is not None:
        annotations["return"] = ret_type
    mocked_activity.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=ret_type if ret_type is not None else signature.empty
    )
    mocked_activity.__annotations__ = annotations
    mocked_activity.__name__ = mocked_activity.__qualname__ = f"mocked_{mock.name}"
    mocked_activity.__pta_mock__ = mock  # type: ignore[attr-defined]
    return temporalio.activity.defn(name=mock.name)(mocked_activity)


def _is_mock(fn: Any) -> bool:
    """Ours (a mocked activity or the mocked children's local activity), wrapped or not."""
    if _activity_name_or_none(fn) == MOCK_CHILD_ACTIVITY:
        return True
    while fn is not None:
        if getattr(fn, "__pta_mock__", None) is not None:
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False


def _is_record(value: Any) -> bool:
    return hasattr(value, "__dataclass_fields__") or hasattr(value, "model_fields")


def _activity_name_or_none(fn: Any) -> str | None:
    defn = activity_definition(fn)
    return defn.name if defn is not None else None


def _workflow_name_or_none(cls: type) -> str | None:
    defn = workflow_definition(cls)
    return defn.name if defn is not None else None


def _workflow_class(target: Any) -> type | None:
    """The workflow class of a class or ``@workflow.run`` method; None for names."""
    if isinstance(target, str):
        return None
    if isinstance(target, type):
        return target if workflow_definition(target) else None
    cls = workflow_class_of(target)
    return cls if cls is not None and workflow_definition(cls) else None
