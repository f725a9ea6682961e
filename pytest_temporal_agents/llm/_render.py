"""What every API's renderer shares: the answer being rendered, ids, SSE framing, pieces.

A renderer is a pair of pure functions per API: ``body(answer) -> dict`` for a plain
response and ``events(answer) -> list[str]`` for a stream (each item one SSE event).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ._replies import Reply, ToolCall, Usage
from ._requests import LLMRequest

#: Models the fake lists at ``GET /v1/models`` unless told otherwise.
DEFAULT_MODELS = (
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
)
#: The model named in an answer to a request that named none.
FALLBACK_MODEL = "fake-model"
#: How many characters of tool-call arguments one stream delta carries.
ARGUMENT_PIECE = 12

_WORDS = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True)
class Answer:
    """A reply about to be rendered for one request.

    Attributes:
        request: the request it answers.
        reply: the scripted reply (kind "message" or "truncated").
        usage: the tokens to report.
        created: the Unix time of the answer.
    """

    request: LLMRequest
    reply: Reply
    usage: Usage
    created: int

    @property
    def model(self) -> str:
        return self.request.model or FALLBACK_MODEL

    @property
    def text(self) -> str:
        return self.reply.text or ""

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.reply.tool_calls

    def id(self, prefix: str) -> str:
        """An id unique within the test: ``prefix`` and the request's number."""
        return f"{prefix}fake{self.request.number}"

    def call_id(self, prefix: str, index: int) -> str:
        """The id of the ``index``-th tool call of this answer."""
        return f"{prefix}fake{self.request.number}_{index}"


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event: an optional ``event:`` line and a ``data:`` line of JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


def text_pieces(text: str) -> list[str]:
    """The text as a model streams it: word by word, each with the space before it."""
    return _WORDS.findall(text)


def argument_pieces(arguments: str) -> list[str]:
    """Tool-call arguments as a model streams them: a few characters at a time."""
    return [arguments[i : i + ARGUMENT_PIECE] for i in range(0, len(arguments), ARGUMENT_PIECE)]


def cut(events: list[str]) -> list[str]:
    """The first half of a stream (at least one event): what a truncated answer sends."""
    return events[: max(1, len(events) // 2)]
