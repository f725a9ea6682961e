"""Every temporalio internal the plugin relies on: still there, still the shape it uses.

Run first when upgrading temporalio (README.md here). Each row of ``INTERNALS`` names an
internal, who relies on it, and a check that says what changed; a failure reads
``<internal> <what changed> (used by <who>)``. The rows check temporalio alone, so they run
even when ``_sdk`` itself no longer imports; the tests below the table go through ``_sdk``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import temporalio.activity
from sdk_canary_workflows import ApprovalWorkflow, ChildWorkflow, Order, canary_buy
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

#: What a check yields: what changed, in words that follow the internal's name.
Problems = Iterator[str]


@dataclass(frozen=True)
class Internal:
    name: str
    used_by: str
    check: Callable[[Any], Problems]
    #: The dotted path the check is given, when ``name`` is not one.
    target: str | None = None


class Gone(LookupError):
    """A dotted path names nothing: ``args[0]`` is the first part of it that is missing."""


def resolve(dotted: str) -> Any:
    """The object at a dotted path: its longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for depth, attribute in enumerate(parts[cut:], start=cut + 1):
            if not hasattr(found, attribute):
                raise Gone(".".join(parts[:depth]))
            found = getattr(found, attribute)
        return found
    raise Gone(parts[0])


# -- checks --------------------------------------------------------------------------------------
def attributes(obj: Any, expected: dict[str, Any]) -> Problems:
    for attribute, want in expected.items():
        if not hasattr(obj, attribute):
            yield f"lost attribute {attribute!r}"
        elif (got := getattr(obj, attribute)) != want:
            yield f"attribute {attribute!r} is {got!r} where {want!r} was expected"


def parameters(*expected: str, exactly: bool = False) -> Callable[[Any], Problems]:
    """Its parameters are ``expected`` (exactly, in order) or include them (by keyword)."""

    def check(fn: Any) -> Problems:
        got = list(inspect.signature(fn).parameters)
        if exactly and got != list(expected):
            yield f"takes ({', '.join(got)}), not ({', '.join(expected)})"
        for name in [] if exactly else expected:
            if name not in got:
                yield f"lost parameter {name!r} (it takes {', '.join(got)})"

    return check


def fields(*expected: str) -> Callable[[Any], Problems]:
    def check(cls: Any) -> Problems:
        if not dataclasses.is_dataclass(cls):
            yield "is no longer a dataclass"
            return
        got = {f.name for f in dataclasses.fields(cls)}
        yield from (f"lost field {name!r}" for name in expected if name not in got)

    return check


def methods(*expected: str) -> Callable[[Any], Problems]:
    def check(cls: Any) -> Problems:
        for name in expected:
            if not callable(getattr(cls, name, None)):
                yield f"lost method {name!r}"

    return check


def all_of(*checks: Callable[[Any], Problems]) -> Callable[[Any], Problems]:
    def check(obj: Any) -> Problems:
        for each in checks:
            yield from each(obj)

    return check


def raises(call: Callable[[], Any], what: str) -> Problems:
    try:
        call()
    except Exception:  # noqa: BLE001 - which error does not matter, only that there is one
        return
    yield f"no longer raises for {what}"


def plain_function() -> None:
    """Not an activity."""


class PlainClass:
    """Not a workflow."""


@dataclass(frozen=True)
class Lookup:
    """What a definition lookup is tried on: ``defined`` has a definition named ``name``,
    ``plain`` has none."""

    defined: Any
    name: str
    plain: Any
    #: ``defined`` and ``plain`` in words.
    what: str
    plain_what: str

    def finds(self, lookup: Any) -> Problems:
        """``lookup`` (a ``from_*``) returns the definition, and None for ``plain``."""
        yield from self._definition(lookup)
        if lookup(self.plain) is not None:
            yield f"no longer returns None for {self.plain_what}"

    def must_find(self, must_lookup: Any) -> Problems:
        """``must_lookup`` (a ``must_from_*``) returns the definition, and raises for ``plain``."""
        yield from self._definition(must_lookup)
        yield from raises(lambda: must_lookup(self.plain), self.plain_what)

    def _definition(self, lookup: Any) -> Problems:
        if (found := getattr(lookup(self.defined), "name", None)) != self.name:
            yield f"no longer returns {self.what}'s definition (it gave one named {found!r})"


def activity_definition_shape(cls: Any) -> Problems:
    if not dataclasses.is_dataclass(cls):
        yield "is no longer a dataclass (redefine_activity copies it with dataclasses.replace)"
    defn = getattr(canary_buy, ACTIVITY_ATTRIBUTE, None)
    if not isinstance(defn, cls):
        yield f"is not what @activity.defn attaches (it attached {defn!r})"
        return
    yield from attributes(
        defn,
        {
            "name": "canary_buy",
            "fn": canary_buy,
            "is_async": True,
            "arg_types": [Order],
            "ret_type": str,
        },
    )


def activity_attribute(cls: Any) -> Problems:
    """The attribute redefine_activity sets on its wrapper, which from_callable must read."""
    name = ACTIVITY_ATTRIBUTE
    if not isinstance(getattr(canary_buy, name, None), cls):
        yield "is no longer where @activity.defn puts the activity's definition"

    async def wrapper(*args: Any) -> Any:
        return args

    setattr(wrapper, name, getattr(canary_buy, name, None))
    if getattr(cls.from_callable(wrapper), "name", None) != "canary_buy":
        yield "set on a wrapper no longer makes it that activity for from_callable"


def workflow_definition_shape(cls: Any) -> Problems:
    defn = cls.from_class(ChildWorkflow) if hasattr(cls, "from_class") else None
    if not isinstance(defn, cls):
        yield f"is not what @workflow.defn attaches (from_class gave {defn!r})"
        return
    yield from attributes(
        defn,
        {
            "cls": ChildWorkflow,
            "name": "CanaryChild",
            "run_fn": ChildWorkflow.run,
            "arg_types": [Order],
            "ret_type": str,
        },
    )


def complete_async_error(cls: Any) -> Problems:
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        yield "is no longer an exception class"
        return
    try:
        temporalio.activity.raise_complete_async()
    except cls:
        return
    except BaseException as err:  # noqa: BLE001 - the finding
        yield f"is not what activity.raise_complete_async() raises any more (it raised {err!r})"
    else:
        yield "is not raised by activity.raise_complete_async() any more"


def context_current(current: Any) -> Problems:
    yield from parameters(exactly=True)(current)
    owner = temporalio.activity._Context
    if not dataclasses.is_dataclass(owner) or "heartbeat" not in {
        f.name for f in dataclasses.fields(owner)
    }:
        yield "returns a context without a 'heartbeat' field"
    yield from raises(current, "a call outside any activity")


def signal_name_helper(must_name_from_fn_or_str: Any) -> Problems:
    if (name := must_name_from_fn_or_str(ApprovalWorkflow.approve)) != "canary-approve":
        yield f"gives {name!r} for @workflow.signal(name='canary-approve')"
    if (name := must_name_from_fn_or_str("by-name")) != "by-name":
        yield f"no longer passes a name through (gave {name!r})"


def query_definition_helper(from_fn: Any) -> Problems:
    defn = from_fn(ApprovalWorkflow.status)
    yield from attributes(defn, {"name": "canary-status", "ret_type": str})
    if from_fn(plain_function) is not None:
        yield "no longer returns None for a function that is not a query"


def update_name_and_type_helper(get_name_and_result_type: Any) -> Problems:
    if (got := get_name_and_result_type(ApprovalWorkflow.grant)) != ("canary-grant", int):
        yield f"gives {got!r} for @workflow.update(name='canary-grant') returning int"
    if (got := get_name_and_result_type("by-name")) != ("by-name", None):
        yield f"no longer passes a name through (gave {got!r})"


def value_to_type_shape(value_to_type: Any) -> Problems:
    # mocks._clock's replacement takes and forwards exactly these, positionally.
    yield from parameters("hint", "value", "custom_converters", exactly=True)(value_to_type)
    if (got := value_to_type(Order, {"symbol": "AAPL", "quantity": 1}, [])) != Order("AAPL", 1):
        yield f"turned a JSON object into {got!r}, not Order('AAPL', 1)"


def prepare_workflow_shape(prepare_workflow: Any) -> Problems:
    yield from parameters("self", "defn", exactly=True)(prepare_workflow)
    runner = resolve("temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner")
    params = getattr(runner, "__dataclass_params__", None)
    if params is None or not params.frozen:
        yield "is on a class that is no longer a frozen dataclass (_sdk.ValidateOnceRunner is one)"


def nondeterminism_error(cls: Any) -> Problems:
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        yield "is no longer an exception class"


def activity_environment_cancelled(cls: Any) -> Problems:
    """An instance attribute: False until ``cancel(details)``, True after."""
    name = "_cancelled"
    env = cls()
    if getattr(env, name, None) is not False:
        yield f"of a new environment is {getattr(env, name, 'missing')!r}, not False"
    env.cancel(temporalio.activity.ActivityCancellationDetails(cancel_requested=True))
    if getattr(env, name, None) is not True:
        yield f"after cancel(details) is {getattr(env, name, 'missing')!r}, not True"


ACTIVITY_ATTRIBUTE = "__temporal_activity_definition"
DEFINITIONS = "_sdk.activity_definition -> faults, mocks, saga, harness"
AN_ACTIVITY = Lookup(
    canary_buy, "canary_buy", plain_function, "an activity", "a function that is no activity"
)
A_WORKFLOW = Lookup(
    ChildWorkflow, "CanaryChild", PlainClass, "a workflow class", "a class that is no workflow"
)

INTERNALS = [
    # -- the seam: pytest_temporal_agents/_sdk.py ----------------------------------------------
    Internal("temporalio.activity._Definition", DEFINITIONS, activity_definition_shape),
    Internal("temporalio.activity._Definition.from_callable", DEFINITIONS, AN_ACTIVITY.finds),
    Internal(
        "temporalio.activity._Definition.must_from_callable",
        "_sdk.must_activity_definition -> mocks, saga",
        AN_ACTIVITY.must_find,
    ),
    Internal(
        f"@activity.defn's {ACTIVITY_ATTRIBUTE} attribute",
        "_sdk.redefine_activity -> fault wrappers",
        activity_attribute,
        target="temporalio.activity._Definition",
    ),
    Internal(
        "temporalio.workflow._Definition",
        "_sdk.workflow_definition -> mocks, saga, harness",
        workflow_definition_shape,
    ),
    Internal(
        "temporalio.workflow._Definition.from_class",
        "_sdk.workflow_definition -> mocks, saga, harness",
        A_WORKFLOW.finds,
    ),
    Internal(
        "temporalio.workflow._Definition.must_from_class",
        "_sdk.must_workflow_definition -> mocks",
        A_WORKFLOW.must_find,
    ),
    Internal(
        "temporalio.activity._CompleteAsyncError",
        "_sdk.CompleteAsyncError -> fault wrappers (an attempt that completes asynchronously)",
        complete_async_error,
    ),
    Internal(
        "temporalio.activity._Context.current",
        "_sdk.activity_context -> fault wrappers' heartbeat recorder",
        context_current,
    ),
    Internal(
        "temporalio.workflow._SignalDefinition.must_name_from_fn_or_str",
        "_sdk.signal_name -> mocks' delayed signals",
        signal_name_helper,
    ),
    Internal(
        "temporalio.workflow._QueryDefinition.from_fn",
        "_sdk.query_definition -> mocks' delayed queries",
        query_definition_helper,
    ),
    Internal(
        "temporalio.workflow._UpdateDefinition.get_name_and_result_type",
        "_sdk.update_name_and_type -> mocks' delayed updates",
        update_name_and_type_helper,
    ),
    Internal(
        "temporalio.converter._payload_converter.value_to_type",
        "_sdk.payload_converter_module -> mocks' activity clock, which replaces it",
        value_to_type_shape,
    ),
    Internal(
        "temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner.prepare_workflow",
        "_sdk.ValidateOnceRunner -> every harness worker and replayer",
        prepare_workflow_shape,
    ),
    Internal(
        "temporalio.workflow.NondeterminismError",
        "_sdk.is_nondeterminism -> replay",
        nondeterminism_error,
    ),
    # -- outside the seam --------------------------------------------------------------------
    Internal(
        "temporalio.testing.ActivityEnvironment._cancelled",
        "_sdk.activity_environment_cancelled -> mocks.ActivityEnv.cancelled",
        activity_environment_cancelled,
        target="temporalio.testing.ActivityEnvironment",
    ),
    Internal(
        "temporalio.testing.WorkflowEnvironment.start_time_skipping",
        "servers.start_environment",
        parameters("test_server_existing_path", "runtime"),
    ),
    Internal(
        "temporalio.testing.WorkflowEnvironment.start_local",
        "servers.start_environment",
        parameters(
            "namespace", "dev_server_existing_path", "dev_server_database_filename", "runtime"
        ),
    ),
    Internal(
        "temporalio.testing.WorkflowEnvironment.from_client",
        "servers.start_environment",
        parameters("client"),
    ),
    Internal(
        "temporalio.testing.ActivityEnvironment",
        "mocks.ActivityEnv",
        all_of(parameters("client"), methods("cancel", "worker_shutdown", "run")),
    ),
    Internal(
        "temporalio.worker.Replayer",
        "replay._engine",
        all_of(
            parameters(
                "workflows",
                "workflow_runner",
                "runtime",
                "workflow_task_executor",
                "data_converter",
                "interceptors",
            ),
            methods("workflow_replay_iterator"),
        ),
    ),
    Internal(
        "temporalio.worker.StartActivityInput",
        "fault and replay interceptors",
        fields(
            "activity",
            "activity_id",
            "args",
            "retry_policy",
            "start_to_close_timeout",
            "heartbeat_timeout",
            "schedule_to_close_timeout",
        ),
    ),
    Internal(
        "temporalio.worker.StartLocalActivityInput",
        "fault interceptor",
        fields(
            "activity",
            "args",
            "retry_policy",
            "start_to_close_timeout",
            "schedule_to_close_timeout",
        ),
    ),
    Internal(
        "temporalio.worker.StartChildWorkflowInput",
        "fault and replay interceptors",
        fields("workflow", "id", "args", "task_timeout"),
    ),
    Internal(
        "temporalio.client.StartWorkflowInput",
        "harness client interceptor, faults' start hook",
        fields("workflow", "task_timeout"),
    ),
    Internal(
        "temporalio.client.QueryWorkflowInput",
        "harness client interceptor (settle before a query)",
        fields("id", "run_id"),
    ),
]


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda internal: internal.name)
def test_internal(internal: Internal) -> None:
    target = internal.target or internal.name
    try:
        problems = list(internal.check(resolve(target)))
    except Gone as gone:
        problems = ["is gone" if gone.args[0] == internal.name else f"is gone: {gone.args[0]} is"]
    except Exception as err:  # noqa: BLE001 - a check that cannot even run is a finding too
        problems = [f"could not be checked: {err!r}"]
    assert not problems, "\n".join(
        f"{internal.name} {problem} (used by {internal.used_by})" for problem in problems
    )


# -- through the seam ----------------------------------------------------------------------------
def beat_through_a_swapped_heartbeat(sdk: ModuleType) -> dict[str, Any]:
    """What the fault wrappers do inside an attempt; returns what it saw."""
    context = sdk.activity_context()
    original = context.heartbeat
    seen: dict[str, Any] = {"original": original, "recorded": []}

    def recording(*details: Any) -> None:
        seen["recorded"].append(details)
        original(*details)

    try:
        context.heartbeat = recording
    except Exception as err:  # noqa: BLE001 - the finding
        seen["swap_error"] = err
    temporalio.activity.heartbeat("progress", 1)
    return seen


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_running_activity_has_a_context_whose_heartbeat_can_be_swapped(
    sdk: ModuleType, kind: str
) -> None:
    env = ActivityEnvironment()
    sent: list[tuple[Any, ...]] = []
    env.on_heartbeat = lambda *details: sent.append(details)

    async def async_attempt() -> dict[str, Any]:
        return beat_through_a_swapped_heartbeat(sdk)

    def sync_attempt() -> dict[str, Any]:
        return beat_through_a_swapped_heartbeat(sdk)

    seen = await env.run(async_attempt) if kind == "async" else env.run(sync_attempt)
    used_by = "(used by _sdk.activity_context -> fault wrappers' heartbeat recorder)"
    assert callable(seen["original"]), (
        f"temporalio.activity._Context.current().heartbeat is {seen['original']!r} inside a "
        f"running {kind} activity, not a callable {used_by}"
    )
    assert "swap_error" not in seen, (
        f"temporalio.activity._Context.current().heartbeat can no longer be set: "
        f"{seen.get('swap_error')!r} {used_by}"
    )
    assert seen["recorded"] == [("progress", 1)], (
        "temporalio.activity.heartbeat() no longer calls _Context.current().heartbeat, so a "
        f"swapped one records nothing (recorded {seen['recorded']!r}) {used_by}"
    )
    assert sent == [("progress", 1)], (
        f"the heartbeat swapped out of temporalio.activity._Context no longer sends (sent {sent!r})"
    )


def test_the_json_converter_decodes_through_the_module_global_value_to_type(
    sdk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = sdk.payload_converter_module()
    original = module.value_to_type
    hints: list[Any] = []

    def value_to_type(hint: Any, value: Any, custom_converters: Any = ()) -> Any:
        hints.append(hint)
        return original(hint, value, list(custom_converters))

    # What mocks._clock does while the activity clock runs.
    monkeypatch.setattr(module, "value_to_type", value_to_type)
    converter = DataConverter.default.payload_converter
    [order] = converter.from_payloads(converter.to_payloads([Order("AAPL", 1)]), [Order])
    assert Order in hints, (
        f"{module.__name__}.value_to_type, replaced on its module, is no longer what the JSON "
        "converter calls to decode a typed value (used by _sdk.payload_converter_module -> "
        "mocks' activity clock: datetime hints resolved under freezegun would not decode)"
    )
    assert order == Order("AAPL", 1)


def test_a_redefined_activity_keeps_the_original_name_and_types(sdk: ModuleType) -> None:
    defn = sdk.must_activity_definition(canary_buy)

    async def wrapper(*args: Any) -> Any:
        return await canary_buy(*args)

    sdk.redefine_activity(wrapper, defn)
    redefined = sdk.activity_definition(wrapper)
    assert redefined is not None and redefined.fn is wrapper, (
        "dataclasses.replace(temporalio.activity._Definition, fn=wrapper), set as "
        f"__temporal_activity_definition, reads back as {redefined!r} "
        "(used by _sdk.redefine_activity -> fault wrappers)"
    )
    kept = {a: getattr(defn, a) for a in ("name", "is_async", "arg_types", "ret_type")}
    got = {a: getattr(redefined, a) for a in kept}
    assert got == kept, (
        "dataclasses.replace(temporalio.activity._Definition, fn=wrapper) no longer keeps the "
        f"original's {kept!r}: it has {got!r} (used by _sdk.redefine_activity -> fault "
        "wrappers, whose payloads must decode to the original's argument types)"
    )
    assert sdk.activity_name(wrapper) == "canary_buy"


def test_the_seam_reads_names_and_classes_through_the_sdk(sdk: ModuleType) -> None:
    query = sdk.query_definition(ApprovalWorkflow.status)
    reads = [
        (
            "_sdk.workflow_name, from temporalio.workflow._Definition.name",
            sdk.workflow_name(ChildWorkflow),
            "CanaryChild",
        ),
        (
            "_sdk.workflow_class_of, from the __qualname__ of what @workflow.run returns",
            sdk.workflow_class_of(ChildWorkflow.run),
            ChildWorkflow,
        ),
        (
            "_sdk.must_workflow_definition, from temporalio.workflow._Definition.run_fn",
            sdk.must_workflow_definition(ChildWorkflow).run_fn,
            ChildWorkflow.run,
        ),
        (
            "_sdk.signal_name, from temporalio.workflow._SignalDefinition",
            sdk.signal_name(ApprovalWorkflow.approve),
            "canary-approve",
        ),
        (
            "_sdk.query_definition, from temporalio.workflow._QueryDefinition",
            (getattr(query, "name", None), getattr(query, "ret_type", None)),
            ("canary-status", str),
        ),
    ]
    wrong = [f"{what}: read {got!r}, expected {want!r}" for what, got, want in reads if got != want]
    assert not wrong, "\n".join(wrong)


async def test_the_seams_runner_validates_a_workflow_in_the_sandbox(sdk: ModuleType) -> None:
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    runner = sdk.sandboxed_runner()
    assert isinstance(runner, SandboxedWorkflowRunner), (
        f"_sdk.sandboxed_runner() built {runner!r}, not a "
        "temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner"
    )
    # Twice: the first validates (SandboxedWorkflowRunner.prepare_workflow), the second skips.
    # In a running loop, as workers and replayers call it.
    runner.prepare_workflow(sdk.must_workflow_definition(ChildWorkflow))
    runner.prepare_workflow(sdk.must_workflow_definition(ChildWorkflow))
