"""Anthropic's wire format: errors, models, and messages (plain and streamed).

A stream is ``event:``/``data:`` pairs: ``message_start`` (usage with the input tokens),
``ping``, per content block ``content_block_start`` / ``content_block_delta`` (``text_delta``
or ``input_json_delta``) / ``content_block_stop``, then ``message_delta`` (stop reason and
output tokens) and ``message_stop``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._render import Answer, argument_pieces, sse, text_pieces
from ._replies import Usage

#: Anthropic's error type per status; other 4xx are invalid requests, other 5xx api errors.
ERROR_TYPES = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def is_anthropic(headers: Mapping[str, str]) -> bool:
    """Whether a request came from an Anthropic client (for paths both APIs share)."""
    return "anthropic-version" in headers


def error(status: int, message: str, number: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Anthropic's error body (``{"type": "error", "error": {...}}``) and its headers."""
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    request_id = f"req_fake{number}"
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    return body, {"request-id": request_id}


def models(names: list[str]) -> dict[str, Any]:
    """``GET /v1/models`` as Anthropic lists them."""
    return {
        "data": [model(name) for name in names],
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }


def model(name: str) -> dict[str, Any]:
    """``GET /v1/models/{id}`` as Anthropic describes one."""
    return {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}


def messages_usage(usage: Usage, *, output_tokens: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if answer.tool_calls else "end_turn"


def _tool_input(arguments_json: str) -> Any:
    """A tool_use block's input: the object, or the raw text of a malformed call (a body
    cannot carry invalid JSON inside valid JSON; a stream can, and does)."""
    try:
        return json.loads(arguments_json)
    except ValueError:
        return arguments_json


def _message(answer: Answer, content: list[dict[str, Any]], **rest: Any) -> dict[str, Any]:
    return {
        "id": answer.id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_sequence": None,
        **rest,
    }


def message_body(answer: Answer) -> dict[str, Any]:
    """A ``message`` object: a text block (when there is text), then tool_use blocks."""
    content: list[dict[str, Any]] = []
    if answer.reply.text is not None:
        content.append({"type": "text", "text": answer.text})
    for index, call in enumerate(answer.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": answer.call_id("toolu_", index),
                "name": call.name,
                "input": _tool_input(call.arguments_json),
            }
        )
    return _message(
        answer, content, stop_reason=_stop_reason(answer), usage=messages_usage(answer.usage)
    )


def message_events(answer: Answer) -> list[str]:
    """The events of a streamed message, ``message_stop`` last."""
    events: list[str] = []

    def emit(kind: str, **data: Any) -> None:
        events.append(sse({"type": kind, **data}, event=kind))

    start_usage = messages_usage(answer.usage, output_tokens=1)
    emit("message_start", message=_message(answer, [], stop_reason=None, usage=start_usage))
    emit("ping")
    index = 0
    if answer.reply.text is not None:
        emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
        for piece in text_pieces(answer.text):
            emit("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        emit("content_block_stop", index=index)
        index += 1
    for number, call in enumerate(answer.tool_calls):
        block = {"type": "tool_use", "id": answer.call_id("toolu_", number), "name": call.name}
        emit("content_block_start", index=index, content_block={**block, "input": {}})
        for piece in argument_pieces(call.arguments_json):
            delta = {"type": "input_json_delta", "partial_json": piece}
            emit("content_block_delta", index=index, delta=delta)
        emit("content_block_stop", index=index)
        index += 1
    stop = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    emit("message_delta", delta=stop, usage={"output_tokens": answer.usage.output_tokens})
    emit("message_stop")
    return events
