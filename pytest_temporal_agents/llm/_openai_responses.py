"""OpenAI's Responses API: a ``response`` object, and the typed events of a streamed one.

A stream is ``event:``/``data:`` pairs, each data carrying its ``type`` and a
``sequence_number``: ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added`` ... ``response.output_item.done`` (with the content part and
text deltas of a message, or the argument deltas of a function call), then
``response.completed`` with the whole response.
"""

from __future__ import annotations

from typing import Any

from ._render import Answer, argument_pieces, sse, text_pieces
from ._replies import Usage


def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _items(answer: Answer, status: str) -> list[dict[str, Any]]:
    """The output items: a message (when there is text), then one per function call."""
    items: list[dict[str, Any]] = []
    if answer.reply.text is not None:
        items.append(
            {
                "id": answer.id("msg_"),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [_text_part(answer.text)] if status == "completed" else [],
            }
        )
    for index, call in enumerate(answer.tool_calls):
        items.append(
            {
                "id": answer.call_id("fc_", index),
                "type": "function_call",
                "status": status,
                "call_id": answer.call_id("call_", index),
                "name": call.name,
                "arguments": call.arguments_json if status == "completed" else "",
            }
        )
    return items


def response_body(answer: Answer, *, status: str = "completed") -> dict[str, Any]:
    """A ``response`` object; in progress, it has no output and no usage yet."""
    body = answer.request.body if isinstance(answer.request.body, dict) else {}
    done = status == "completed"
    return {
        "id": answer.id("resp_"),
        "object": "response",
        "created_at": answer.created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": answer.model,
        "output": _items(answer, status) if done else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": answer.request.tools,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": responses_usage(answer.usage) if done else None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def response_events(answer: Answer) -> list[str]:
    """The typed events of a streamed response, ``response.completed`` last."""
    events: list[str] = []

    def emit(kind: str, **data: Any) -> None:
        events.append(sse({"type": kind, "sequence_number": len(events), **data}, event=kind))

    emit("response.created", response=response_body(answer, status="in_progress"))
    emit("response.in_progress", response=response_body(answer, status="in_progress"))
    opened, closed = _items(answer, "in_progress"), _items(answer, "completed")
    for index, (item, done) in enumerate(zip(opened, closed)):
        emit("response.output_item.added", output_index=index, item=item)
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            part = {"content_index": 0, **where}
            emit("response.content_part.added", **part, part=_text_part(""))
            for piece in text_pieces(answer.text):
                emit("response.output_text.delta", **part, delta=piece, logprobs=[])
            emit("response.output_text.done", **part, text=answer.text, logprobs=[])
            emit("response.content_part.done", **part, part=_text_part(answer.text))
        else:
            for piece in argument_pieces(done["arguments"]):
                emit("response.function_call_arguments.delta", **where, delta=piece)
            emit(
                "response.function_call_arguments.done",
                **where,
                name=done["name"],
                arguments=done["arguments"],
            )
        emit("response.output_item.done", output_index=index, item=done)
    emit("response.completed", response=response_body(answer))
    return events
