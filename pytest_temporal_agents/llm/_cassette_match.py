"""Which recorded interaction answers a request, what drifted when none does, and the
usage of a recorded answer.

A request matches an interaction of the same API when model, stream, system prompt,
messages and tools are equal; other parameters (temperature, max_tokens, ...) are kept in
the file for review but not matched on. A request that matches nothing is compared with
the interaction expected next for its API, and the difference is shown as a unified diff
of each part that changed, the way a reviewer reads a changed prompt.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ._cassette import Interaction
from ._replies import Usage, estimate_tokens
from ._requests import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, LLMRequest, text_of

#: The parts of a request that are matched on, in the order a diff shows them.
MATCHED = ("model", "stream", "system", "messages", "tools")


def parts(item: Interaction | LLMRequest) -> dict[str, Any]:
    """The matched parts of a recorded interaction or of a request received."""
    return {name: getattr(item, name) for name in MATCHED}


def matches(interaction: Interaction, request: LLMRequest) -> bool:
    """The interaction was recorded for a request equal to this one in every matched part."""
    return interaction.api == request.api and _canonical(parts(interaction)) == _canonical(
        parts(request)
    )


def drift(interaction: Interaction, number: int, request: LLMRequest) -> str:
    """What changed between the recorded interaction and the request, part by part.

    Returns:
        A header naming both, then for each part that differs a unified diff
        (``-`` recorded, ``+`` now) of its pretty JSON.
    """
    recorded, now = parts(interaction), parts(request)
    changed = [name for name in MATCHED if _canonical(recorded[name]) != _canonical(now[name])]
    lines = [f"it drifted from {interaction.describe(number)}: {', '.join(changed)} changed"]
    for name in changed:
        before, after = _pretty(recorded[name]), _pretty(now[name])
        diff = difflib.unified_diff(
            before, after, f"{name} (recorded)", f"{name} (now)", lineterm="", n=2
        )
        lines.extend(f"    {line}" for line in diff)
    return "\n".join(lines)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).split("\n")


# -- usage ---------------------------------------------------------------------------------------


def recorded_usage(interaction: Interaction, request: LLMRequest) -> tuple[Usage | None, bool]:
    """The tokens of a recorded answer, from its body or its stream's events.

    Returns:
        ``(usage, estimated)``: the answer's own usage when it reports one; otherwise
        (a chat stream that did not ask for usage) counted from the request's and the
        answer's text, ``estimated`` True. ``(None, False)`` for an error answer.
    """
    if interaction.status >= 400:
        return None, False
    found = _reported(interaction)
    if found is not None:
        return found, False
    return Usage(request.input_tokens(), max(1, estimate_tokens(_answer_text(interaction)))), True


def _reported(interaction: Interaction) -> Usage | None:
    if interaction.events is None:
        body = interaction.body if isinstance(interaction.body, dict) else {}
        return _usage_in(interaction.api, body.get("usage"))
    total: Usage | None = None
    for event in interaction.events:
        data = event.get("data")
        if not isinstance(data, dict):
            continue
        found = _event_usage(interaction.api, data)
        if found is not None:
            total = found if total is None else _merge(total, found)
    return total


def _event_usage(api: str, data: dict[str, Any]) -> Usage | None:
    if api == OPENAI_CHAT:
        return _usage_in(api, data.get("usage"))
    if api == OPENAI_RESPONSES:
        response = data.get("response")
        if data.get("type") == "response.completed" and isinstance(response, dict):
            return _usage_in(api, response.get("usage"))
        return None
    if api == ANTHROPIC_MESSAGES:
        message = data.get("message")
        if data.get("type") == "message_start" and isinstance(message, dict):
            return _usage_in(api, message.get("usage"))
        if data.get("type") == "message_delta":
            return _usage_in(api, data.get("usage"))
    return None


def _merge(earlier: Usage, later: Usage) -> Usage:
    """Anthropic streams report input tokens at the start and output tokens at the end;
    a later count replaces an earlier one, part by part, unless it is zero."""
    return Usage(
        later.input_tokens or earlier.input_tokens, later.output_tokens or earlier.output_tokens
    )


def _usage_in(api: str, usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    names = ("prompt_tokens", "completion_tokens") if api == OPENAI_CHAT else None
    names = names or ("input_tokens", "output_tokens")
    counts = [usage.get(name) for name in names]
    if not any(isinstance(count, int) for count in counts):
        return None
    return Usage(*(count if isinstance(count, int) else 0 for count in counts))


def _answer_text(interaction: Interaction) -> str:
    """The text a recorded answer says, for counting its tokens (chat streams' deltas)."""
    if interaction.events is None:
        return text_of(interaction.body)
    pieces = []
    for event in interaction.events:
        data = event.get("data")
        for choice in data.get("choices") or () if isinstance(data, dict) else ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                pieces.append(text_of(delta.get("content")))
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") if isinstance(call, dict) else None
                    if isinstance(function, dict):
                        pieces.append(
                            f"{function.get('name') or ''}{function.get('arguments') or ''}"
                        )
    return "".join(pieces)
