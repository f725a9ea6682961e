"""What the fake model server does not implement, said as an error that tells how to proceed.

The fake answers what it can render faithfully; a request asking for more (several choices,
audio, log probabilities, server-side conversation state, extended thinking) gets an error
naming the parameter, instead of an answer that silently ignores it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._requests import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_EMBEDDINGS, OPENAI_RESPONSES

_Check = tuple[str, Callable[[Any], bool], str]

#: Per API: (parameter, "is this value beyond the fake?", how to proceed).
_LIMITS: dict[str, tuple[_Check, ...]] = {
    OPENAI_CHAT: (
        (
            "n",
            lambda v: isinstance(v, int) and v > 1,
            "ask for one choice (leave n unset) and script each answer as its own request",
        ),
        ("audio", lambda v: v is not None, "the fake answers text only: leave audio unset"),
        (
            "modalities",
            lambda v: isinstance(v, list) and any(m != "text" for m in v),
            "the fake answers text only: use modalities=['text'] or leave it unset",
        ),
        (
            "logprobs",
            lambda v: v is True,
            "the fake has no log probabilities: leave logprobs unset",
        ),
    ),
    OPENAI_RESPONSES: (
        (
            "background",
            lambda v: v is True,
            "the fake answers at once: leave background unset (polling is not implemented)",
        ),
        (
            "previous_response_id",
            lambda v: v is not None,
            "the fake keeps no conversation state: send the whole conversation in input",
        ),
        (
            "conversation",
            lambda v: v is not None,
            "the fake keeps no conversation state: send the whole conversation in input",
        ),
        (
            "prompt",
            lambda v: v is not None,
            "the fake has no stored prompts: send instructions and input instead",
        ),
    ),
    ANTHROPIC_MESSAGES: (
        (
            "thinking",
            lambda v: isinstance(v, dict) and v.get("type") != "disabled",
            "the fake produces no thinking blocks: leave thinking unset in tests",
        ),
    ),
    OPENAI_EMBEDDINGS: (
        (
            "encoding_format",
            lambda v: v not in (None, "float", "base64"),
            "use encoding_format 'float' or 'base64' (the client's default)",
        ),
    ),
}


def unsupported(api: str, body: dict[str, Any]) -> str | None:
    """Why the fake cannot answer this body faithfully, and how to proceed; None if it can."""
    for name, beyond, how in _LIMITS.get(api, ()):
        if name in body and beyond(body[name]):
            return (
                f"{name}={body[name]!r} is not implemented by the fake model server: {how} "
                "(or test this call against the real API)"
            )
    return None
