"""Model faults: the model fails, the way providers fail, while selected attempts run.

An agent's activity calls a model through a client (openai, anthropic, a framework on top
of them) that the ``fake_llm`` fixture's server answers. A model fault does not touch the
activity: while a selected attempt runs, the fake answers the model requests with the
failure (an override held for the attempt, ``FakeLLM.override``), so the real client
raises its real exception (``openai.RateLimitError``, ``anthropic.APIConnectionError``...)
inside the activity, and what the activity makes of it is what Temporal sees. Attempts no
fault selects get the test's own script. The failures are exactly the ones ``fake_llm``
scripts (``fail``, ``hang``, ``truncated``, ``malformed_tool_call``): same error bodies,
same ``retry-after`` header.

The fake cannot tell which activity sent a request: the failure goes to every request
(that the fault's ``contains=``/``model=``/``tool=``/``api=`` accept) made while the
attempt runs, whoever makes it. ``_model_window.py`` applies a fault to one attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Final, TypedDict

from typing_extensions import Unpack

from .._errors import HarnessUsageError
from ..llm import FakeLLM, FakeLLMError, Reply, Rule, replies
from ._declare import _common, _timeout
from ._types import DEFAULT_SHORTENED_TIMEOUT, ActivityRef, ModelFault, _EveryAttempt

NO_FAKE = """\
temporal.inject({fault!r}) needs the fake model server: a model fault makes the fake answer the
activity's model requests with a failure, and no fake is active in this test.
Add the fake_llm fixture to the test's arguments, e.g.
    async def test_rate_limits(temporal, fake_llm): ...
(or inject inside `with FakeLLM():`, which points the clients at a fake of its own)."""

BAD_STATUS = """\
model_error(..., status={value!r}) is invalid: give an HTTP error status from 400 to 599, such as
429 (rate limited), 500, 503 (unavailable), 529 (Anthropic overloaded), 400 or 401."""

BAD_RETRY_AFTER = """\
model_error(..., retry_after={value!r}) is invalid: give the seconds the Retry-After header asks
the client to wait (>= 0), or None for no header."""

BAD_TIMES = """\
{phrase}(..., times={value!r}) is invalid: give how many of the attempt's model requests fail
(>= 1, e.g. times=1 lets the client's own retry succeed), or None for every one."""

BAD_FILTER = """\
{phrase}(..., {name}={value!r}) is invalid: {reason}"""

BAD_TOOL = """\
model_malformed_tool_call(..., {value!r}) is invalid: give the name of the tool the model calls
with arguments that are not JSON, such as model_malformed_tool_call(call_model, "get_price")."""

# -- the vocabulary -------------------------------------------------------------------------
Attempts = Iterable[int] | int | _EveryAttempt


class RequestFilter(TypedDict, total=False):
    """Which of the attempt's model requests get the failure (all by default), matched as
    ``fake_llm.when`` matches them."""

    contains: str  #: text the request's last message contains
    model: str  #: the model asked for
    tool: str  #: a tool the request offers
    api: str  #: "openai.chat", "openai.responses", "anthropic.messages", "openai", "anthropic", ...


def _model_fault(
    phrase: str,
    failure: str,
    activity: ActivityRef,
    attempts: Any,
    where: Any,
    filters: Mapping[str, Any],
    times: Any,
    **details: Any,
) -> ModelFault:
    for name, value in filters.items():
        if name not in RequestFilter.__annotations__:
            valid = ", ".join(f"{key}=" for key in RequestFilter.__annotations__)
            raise HarnessUsageError(
                BAD_FILTER.format(
                    phrase=phrase, name=name, value=value, reason=f"the request filters are {valid}"
                )
            )
        if value is not None and (not isinstance(value, str) or not value):
            raise HarnessUsageError(
                BAD_FILTER.format(
                    phrase=phrase, name=name, value=value, reason="give a non-empty string."
                )
            )
    try:
        Rule(threading.RLock(), api=filters.get("api"))  # the fake's own check of api=
    except FakeLLMError as err:
        raise HarnessUsageError(
            BAD_FILTER.format(phrase=phrase, name="api", value=filters.get("api"), reason=err)
        ) from None
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise HarnessUsageError(BAD_TIMES.format(phrase=phrase, value=times))
    return ModelFault(
        **_common(phrase, activity, attempts, where),
        failure=failure,
        times=times,
        **filters,
        **details,
    )


def model_error(
    activity: ActivityRef,
    status: int,
    *,
    attempts: Attempts = (1,),
    retry_after: float | None = None,
    message: str | None = None,
    times: int | None = None,
    where: Callable[..., bool] | None = None,
    **filters: Unpack[RequestFilter],
) -> ModelFault:
    """The model answers the selected attempts' requests with an HTTP error, in the
    provider's own error format (as ``fake_llm.fail``): the client raises its own exception
    (429: ``RateLimitError``, 500: ``InternalServerError``, 401: ``AuthenticationError``...).

    The clients retry 408, 409, 429 and 5xx themselves (``max_retries=2`` by default); every
    request of the attempt fails, so those retries fail too and the attempt fails with the
    client's error. Clients built with ``max_retries=0`` leave the retrying to Temporal.

    Args:
        activity: the model-calling activity (function or registered name).
        status: an HTTP error status, 400 to 599.
        attempts: attempt numbers (1 is the first), or ``EVERY_ATTEMPT``.
        retry_after: seconds for the ``retry-after`` header (the clients wait that long
            before their own retry).
        message: the error message (default names the fault and attempt).
        times: fail only the attempt's first ``times`` requests; the rest get the script.
        where: only calls whose activity arguments this predicate accepts.
        **filters: ``contains=``, ``model=``, ``tool=``, ``api=``: fail only the requests
            that match (as ``fake_llm.when``); see :class:`RequestFilter`.
    """
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise HarnessUsageError(BAD_STATUS.format(value=status))
    if retry_after is not None and (
        not isinstance(retry_after, (int, float)) or not retry_after >= 0
    ):
        raise HarnessUsageError(BAD_RETRY_AFTER.format(value=retry_after))
    return _model_fault(
        "model_error", "fail", activity, attempts, where, filters, times,
        status=status, retry_after=retry_after, message=message,
    )  # fmt: skip


def model_hang(
    activity: ActivityRef,
    *,
    attempts: Attempts = (1,),
    shortened_to: timedelta | float = DEFAULT_SHORTENED_TIMEOUT,
    where: Callable[..., bool] | None = None,
    **filters: Unpack[RequestFilter],
) -> ModelFault:
    """The model never answers the selected attempts (as ``fake_llm.hang``): the server
    times the attempt out (``TimeoutType.START_TO_CLOSE``) and retries it.

    As for :func:`start_to_close_timeout`, the workflow schedules the call with its
    start-to-close timeout shortened to ``shortened_to``, so the test does not wait the
    activity's real timeout; the other attempts of the call run under it too.
    """
    shortened = _timeout("model_hang", shortened_to)
    return _model_fault(
        "model_hang", "hang", activity, attempts, where, filters, None, shortened_to=shortened
    )


def model_truncated(
    activity: ActivityRef,
    *,
    attempts: Attempts = (1,),
    times: int | None = None,
    where: Callable[..., bool] | None = None,
    **filters: Unpack[RequestFilter],
) -> ModelFault:
    """The model starts answering the selected attempts, then the connection drops (as
    ``fake_llm.truncated``): the clients raise ``APIConnectionError`` (after their own
    retries, which are cut too). Arguments as :func:`model_error`."""
    return _model_fault("model_truncated", "truncated", activity, attempts, where, filters, times)


def model_malformed_tool_call(
    activity: ActivityRef,
    name: str,
    *,
    attempts: Attempts = (1,),
    times: int | None = None,
    where: Callable[..., bool] | None = None,
    **filters: Unpack[RequestFilter],
) -> ModelFault:
    """The model answers the selected attempts with a call of tool ``name`` whose arguments
    are not JSON (as ``fake_llm.malformed_tool_call``). The client hands it over (Anthropic's
    streaming one raises ``ValueError``); what fails then is the activity's own parsing.
    Arguments as :func:`model_error`."""
    if not isinstance(name, str) or not name:
        raise HarnessUsageError(BAD_TOOL.format(value=name))
    return _model_fault(
        "model_malformed_tool_call",
        "malformed_tool_call",
        activity,
        attempts,
        where,
        filters,
        times,
        name=name,
    )


#: Every model fault phrase, by name (what ``fault_plans(model_kinds=...)`` accepts).
MODEL_PHRASES: Final[dict[str, Callable[..., ModelFault]]] = {
    "model_error": model_error,
    "model_truncated": model_truncated,
    "model_malformed_tool_call": model_malformed_tool_call,
    "model_hang": model_hang,
}


def model_reply(fault: ModelFault, attempt: int) -> Reply:
    """The failure the fake answers with, in the selected ``attempt`` (built by the fake's
    own scripting vocabulary, so it is exactly what ``fake_llm`` would serve)."""
    if fault.failure == "fail":
        assert fault.status is not None
        message = (
            fault.message
            or f"injected {fault.kind} in {fault.activity} attempt {attempt}: HTTP {fault.status}"
        )
        return replies.fail(fault.status, retry_after=fault.retry_after, message=message)
    if fault.failure == "malformed_tool_call":
        assert fault.name is not None
        return replies.malformed_tool_call(fault.name)
    return replies.hang() if fault.failure == "hang" else replies.truncated()


def the_fake(fault: ModelFault) -> FakeLLM:
    """The fake the environment points clients at, which a model fault acts on."""
    fake = FakeLLM.active()
    if fake is None:
        raise HarnessUsageError(NO_FAKE.format(fault=fault))
    return fake
