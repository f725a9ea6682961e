"""Nexus operation mocks: a mocked service served by the harness behind a real endpoint.

A workflow calls a Nexus operation through an *endpoint* (``workflow.create_nexus_client(
service=..., endpoint="pricing")``); the server routes the call to the task queue the
endpoint targets, where a worker's service handler answers. To mock an operation the
harness builds a service handler for the operation's service, whose operations hand every
call to its mock (records, behaviour, expectations: the same :class:`Mock` as activities),
runs it on a worker of its own (a task queue of its own), and creates the endpoint on the
server pointing there, before the test's first worker starts. At the end of the test the
endpoint is deleted: endpoint names are global to a server, and the next test may want the
same name. Every operation is served as a synchronous one (the answer comes back in the
start request), which the Java test server and the dev server both run.

The whole service is mocked: an operation of the service that no mock covers answers
``NOT_IMPLEMENTED``, naming the fix.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import nexusrpc
import nexusrpc.handler
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import (
    CreateNexusEndpointRequest,
    DeleteNexusEndpointRequest,
    ListNexusEndpointsRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from .._context import TestContext, WorkerRecord, slug
from .._errors import HarnessUsageError
from ._behaviour import Behaviour
from ._objects import NexusOperationMock

if TYPE_CHECKING:
    from temporalio.api.nexus.v1 import Endpoint

#: Temporal's rule for endpoint names.
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*[a-zA-Z0-9]$")

NOT_A_SERVICE = """\
temporal.mock_nexus_operation({service!r}, ...): that is not a Nexus service. Pass the
@nexusrpc.service class the workflow's client names (workflow.create_nexus_client(
service=MyService, ...)), or the service's name as a string."""

UNKNOWN_OPERATION = """\
temporal.mock_nexus_operation({service}, {operation!r}): service {service} has no operation
{operation!r}.{suggestion} Its operations: {operations}."""

BAD_OPERATION = """\
temporal.mock_nexus_operation({service}, {operation!r}): the operation is the service's
nexusrpc.Operation attribute ({service}.my_operation) or its name as a string."""

BAD_ENDPOINT = """\
temporal.mock_nexus_operation(..., endpoint={endpoint!r}): an endpoint name starts with a
letter and has only letters, digits and dashes, such as endpoint="pricing-endpoint"."""

NOT_MOCKED_OPERATION = """\
operation {operation!r} of Nexus service {service!r} is not mocked in this test, but the
service is (its endpoint reaches the harness's mock): mock it too with
temporal.mock_nexus_operation({service}, {operation!r}, returns=...)."""


class NexusMocks:
    """The Nexus operation mocks of one test, their handler worker and their endpoints."""

    def __init__(self, ctx: TestContext, new_mock: Callable[[str, Behaviour], NexusOperationMock]) -> None:
        self._ctx = ctx
        self._new_mock = new_mock
        self._queue = f"{ctx.task_queue}-nexus"
        #: Mocks by service name, then operation name.
        self._mocks: dict[str, dict[str, NexusOperationMock]] = {}
        #: The service's class and definition (None for a service given by name), by name.
        self._services: dict[str, tuple[type, nexusrpc.ServiceDefinition] | None] = {}
        self._endpoints: dict[str, Endpoint | None] = {}  # name -> created endpoint
        self._attempts: dict[str, int] = {}  # Nexus request id -> calls so far
        self._default_endpoints: dict[str, str] = {}

    @property
    def mocks(self) -> list[NexusOperationMock]:
        return [mock for by_operation in self._mocks.values() for mock in by_operation.values()]

    def find(self, target: Any) -> NexusOperationMock | None:
        """The mock of an operation (``Service.operation`` attribute, or "Service.operation")."""
        for mock in self.mocks:
            if target is mock.operation or target == mock.name:
                return mock
        if isinstance(target, nexusrpc.Operation):  # declared by name: match the name, if unique
            named = [mock for mock in self.mocks if mock.operation_name == target.name]
            return named[0] if len(named) == 1 else None
        return None

    def declare(
        self,
        service: type | str,
        operation: Any,
        endpoint: str | None,
        behaviour: Behaviour,
        bind: Callable[[NexusOperationMock], None],
    ) -> NexusOperationMock:
        """A new mock, registered once ``bind`` (which checks it against the operation's
        types) accepted it."""
        service_name, definition = _service(service)
        operation_name, input_type, output_type = _operation(service_name, definition, operation)
        if endpoint is None:  # one made-up endpoint per service, unique to the test
            endpoint = self._default_endpoints.setdefault(
                service_name, f"pta-{slug(service_name, 30)}-{uuid.uuid4().hex[:8]}"
            )
        elif not isinstance(endpoint, str) or not _ENDPOINT_NAME.match(endpoint):
            raise HarnessUsageError(BAD_ENDPOINT.format(endpoint=endpoint))
        mock = self._new_mock(f"{service_name}.{operation_name}", behaviour)
        mock.service, mock.operation_name, mock.endpoint = service_name, operation_name, endpoint
        mock.operation = operation if isinstance(operation, nexusrpc.Operation) else None
        mock.input_type, mock.output_type = input_type, output_type
        bind(mock)
        self._mocks.setdefault(service_name, {})[operation_name] = mock
        if definition is not None and isinstance(service, type):
            self._services[service_name] = (service, definition)
        else:
            self._services.setdefault(service_name, None)
        self._endpoints.setdefault(endpoint, None)
        return mock

    def is_mocked(self, service: type | str, operation: Any) -> str | None:
        """The mock's name if this operation is already mocked."""
        service_name, definition = _service(service)
        operation_name = _operation(service_name, definition, operation)[0]
        found = self._mocks.get(service_name, {}).get(operation_name)
        return found.name if found else None

    # -- serving --------------------------------------------------------------------------
    async def serve(self) -> None:
        """Start the handler worker and create the endpoints (once, before test workers)."""
        from temporalio.worker import Worker

        ctx = self._ctx
        if not self._mocks or ctx.polling(self._queue):
            return
        handlers = [self._handler(service) for service in self._mocks]
        worker = Worker(ctx.client, task_queue=self._queue, nexus_service_handlers=handlers)
        await worker.__aenter__()
        ctx.workers.append(WorkerRecord(worker, self._queue, [], [], True, helper=True))
        for name in self._endpoints:
            self._endpoints[name] = await self._create_endpoint(name)

    async def _create_endpoint(self, name: str) -> Endpoint:
        operator = self._ctx.client.operator_service
        spec = EndpointSpec(
            name=name,
            target=EndpointTarget(
                worker=EndpointTarget.Worker(namespace=self._ctx.client.namespace, task_queue=self._queue)
            ),
        )
        try:
            return (await operator.create_nexus_endpoint(CreateNexusEndpointRequest(spec=spec))).endpoint
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        # Left by a test that did not end cleanly: replace it. (Deleting and creating, not
        # updating: the Java test server loses an updated endpoint's name.)
        listed = await operator.list_nexus_endpoints(ListNexusEndpointsRequest(name=name))
        for stale in listed.endpoints:
            await operator.delete_nexus_endpoint(DeleteNexusEndpointRequest(id=stale.id, version=stale.version))
        return (await operator.create_nexus_endpoint(CreateNexusEndpointRequest(spec=spec))).endpoint

    async def release(self) -> list[str]:
        """Delete the endpoints this test created; a failure is a problem line."""
        problems = []
        operator = self._ctx.client.operator_service
        for name, endpoint in list(self._endpoints.items()):
            if endpoint is None:
                continue
            self._endpoints[name] = None
            try:
                await operator.delete_nexus_endpoint(
                    DeleteNexusEndpointRequest(id=endpoint.id, version=endpoint.version)
                )
            except RPCError as err:
                problems.append(f"- the Nexus endpoint {name!r} could not be deleted: {err}")
        return problems

    def _handler(self, service: str) -> Any:
        """An instance of a service handler class whose operations call their mocks."""
        known = self._services[service]
        mocked = self._mocks[service]
        if known is not None:
            operations = {
                op.name: (op.method_name or op.name, op.input_type, op.output_type)
                for op in known[1].operation_definitions.values()
            }
        else:
            operations = {name: (name, Any, Any) for name in mocked}
        namespace = {
            method: nexusrpc.handler.sync_operation(name=name)(
                self._operation_function(service, name, method, mocked.get(name), input_type, output_type)
            )
            for name, (method, input_type, output_type) in operations.items()
        }
        cls = type(f"Mocked{_identifier(service)}Handler", (), namespace)
        if known is not None:
            decorated: type = nexusrpc.handler.service_handler(service=known[0])(cls)
        else:
            decorated = nexusrpc.handler.service_handler(name=service)(cls)
        return decorated()

    def _operation_function(
        self,
        service: str,
        operation: str,
        method: str,
        mock: NexusOperationMock | None,
        input_type: Any,
        output_type: Any,
    ) -> Callable[..., Any]:
        attempts = self._attempts
        env = self._ctx.env

        async def operation_handler(self: Any, ctx: nexusrpc.handler.StartOperationContext, input: Any) -> Any:
            if mock is None:
                raise nexusrpc.HandlerError(
                    NOT_MOCKED_OPERATION.format(service=service, operation=operation),
                    type=nexusrpc.HandlerErrorType.NOT_IMPLEMENTED,
                )
            workflow_id, run_id = _caller(ctx.inbound_links)
            attempts[ctx.request_id] = attempts.get(ctx.request_id, 0) + 1
            return await mock.invoke((input,), {
                "attempt": attempts[ctx.request_id],
                "workflow_id": workflow_id,
                "run_id": run_id,
                "workflow_time": await env.get_current_time(),
            })

        operation_handler.__annotations__ = {
            "ctx": nexusrpc.handler.StartOperationContext, "input": input_type, "return": output_type,
        }
        operation_handler.__name__ = method  # nexusrpc matches it against the service's
        return operation_handler


def _service(service: Any) -> tuple[str, nexusrpc.ServiceDefinition | None]:
    if isinstance(service, str) and service:
        return service, None
    definition = nexusrpc.get_service_definition(service) if isinstance(service, type) else None
    if definition is None:
        raise HarnessUsageError(NOT_A_SERVICE.format(service=service))
    return definition.name, definition


def _operation(service: str, definition: nexusrpc.ServiceDefinition | None, operation: Any) -> tuple[str, Any, Any]:
    """The operation's name, input type and output type."""
    if isinstance(operation, nexusrpc.Operation):
        name = operation.name
    elif isinstance(operation, str) and operation:
        name = operation
    else:
        raise HarnessUsageError(BAD_OPERATION.format(service=service, operation=operation))
    if definition is None:
        return name, None, None
    found = definition.operation_definitions.get(name)
    if found is None:
        close = difflib.get_close_matches(name, definition.operation_definitions, n=1)
        raise HarnessUsageError(UNKNOWN_OPERATION.format(
            service=service, operation=name, suggestion=f" Did you mean {close[0]!r}?" if close else "",
            operations=", ".join(sorted(definition.operation_definitions)),
        ))
    return name, found.input_type, found.output_type


def _caller(links: Any) -> tuple[str, str | None]:
    """The calling workflow's id and run id, from the request's link to its scheduling event
    (``temporal:///namespaces/NS/workflows/ID/RUN/history?...``)."""
    for link in links or ():
        parts = urlparse(link.url).path.split("/")
        if len(parts) >= 6 and parts[1] == "namespaces" and parts[3] == "workflows":
            return unquote(parts[4]), unquote(parts[5]) or None
    return "", None


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text) or "Service"
