"""OpenAI's wire format: errors, models, embeddings and chat completions (plain and streamed).

Shapes follow what the official ``openai`` client parses: a chat stream is ``data:`` lines
of ``chat.completion.chunk`` objects ending in ``data: [DONE]``; with
``stream_options.include_usage`` every chunk carries ``"usage": null`` and a last chunk
with no choices carries the usage.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

from ._render import Answer, argument_pieces, sse, text_pieces
from ._replies import Usage

#: The owner OpenAI's model list names for every model of the fake.
OWNER = "pytest-temporal-agents"
#: Embedding sizes of OpenAI's models; others get the first.
EMBEDDING_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS = 1536


def error(status: int, message: str, number: int) -> tuple[dict[str, Any], dict[str, str]]:
    """OpenAI's error body (``{"error": {...}}``) for a status, and its headers."""
    if status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
    elif status >= 500:
        kind, code = "server_error", None
    else:
        kind, code = "invalid_request_error", None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return body, {"x-request-id": f"req_fake{number}"}


def retry_headers(retry_after: float) -> dict[str, str]:
    """OpenAI sends the delay in seconds and in milliseconds; the client prefers the latter."""
    return {"retry-after": f"{retry_after:g}", "retry-after-ms": f"{retry_after * 1000:g}"}


def models(names: list[str]) -> dict[str, Any]:
    """``GET /v1/models``."""
    return {"object": "list", "data": [model(name) for name in names]}


def model(name: str) -> dict[str, Any]:
    """``GET /v1/models/{id}``."""
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": OWNER}


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector derived from the text alone: the same in every run and process.

    The values are float32, so the ``float`` and ``base64`` encodings give the same numbers.
    """
    raw = hashlib.shake_256(text.encode("utf-8")).digest(4 * dimensions)
    values = [n / 0x7FFFFFFF - 1.0 for n in struct.unpack(f"<{dimensions}I", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


def embeddings_body(answer: Answer) -> dict[str, Any]:
    """``POST /v1/embeddings``: one vector per input, in the encoding asked for."""
    body, usage = answer.request.body, answer.usage
    name = str(body.get("model") or "text-embedding-3-small")
    dimensions = body.get("dimensions")
    if not isinstance(dimensions, int) or dimensions < 1:
        dimensions = EMBEDDING_DIMENSIONS.get(name, DEFAULT_DIMENSIONS)
    data = []
    for index, text in enumerate(answer.request.inputs):
        vector: Any = embedding(text, dimensions)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens}
    return {"object": "list", "data": data, "model": name, "usage": tokens}


# -- chat completions --------------------------------------------------------------------------


def chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _finish_reason(answer: Answer) -> str:
    return "tool_calls" if answer.tool_calls else "stop"


def chat_body(answer: Answer) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.reply.text,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {
                "id": answer.call_id("call_", index),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for index, call in enumerate(answer.tool_calls)
        ]
    finish = _finish_reason(answer)
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    return {
        **_chat_header(answer, "chat.completion"),
        "choices": [choice],
        "usage": chat_usage(answer.usage),
    }


def _chat_header(answer: Answer, kind: str) -> dict[str, Any]:
    return {
        "id": answer.id("chatcmpl-"),
        "object": kind,
        "created": answer.created,
        "model": answer.model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
    }


def chat_events(answer: Answer) -> list[str]:
    """The ``chat.completion.chunk`` events of a streamed answer, ``[DONE]`` last."""
    include_usage = answer.request.include_usage
    header = _chat_header(answer, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return sse({**header, "choices": [choice], **extra})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in text_pieces(answer.text)]
    for index, call in enumerate(answer.tool_calls):
        opening = {
            "index": index,
            "id": answer.call_id("call_", index),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}))
        events += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in argument_pieces(call.arguments_json)
        ]
    events.append(chunk({}, _finish_reason(answer)))
    if include_usage:
        events.append(sse({**header, "choices": [], "usage": chat_usage(answer.usage)}))
    events.append(sse("[DONE]"))
    return events
