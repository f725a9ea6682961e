"""``AnthropicReasoner``: the agents' decisions from Anthropic's messages API.

Structured output the Anthropic way: the model is offered one tool whose input schema is the
answer, and ``tool_choice`` makes it call that tool, so the answer arrives as the tool call's
JSON input rather than as prose. No temperature: the ``anthropic`` client 2.x no longer takes
sampling parameters (current Claude models fix them), so the forced tool and the checks in
``answers`` are what keep the answers in shape. The ``anthropic`` package (the ``[llm]``
extra) is imported when the reasoner is built, so the reference system runs without it.
"""

from __future__ import annotations

import os
from typing import Any

from .answers import SYSTEM_PROMPT, MalformedAnswerError, ModelReasoner, parse_json
from .extras import require
from .openai_reasoner import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 1024
"""Room for a decision and a few lines of rationale; the API requires a limit."""


class AnthropicReasoner(ModelReasoner):
    """A ``Reasoner`` that asks a Claude model through the messages API.

    Args:
        model: the model name (``claude-sonnet-4-5`` by default).
        base_url: default ``ANTHROPIC_BASE_URL``, else Anthropic's.
        api_key: default ``ANTHROPIC_API_KEY``. It stays in this object and the client, in
            the worker.
        timeout: seconds per request.
        max_retries: the client's own retries; 0 because Temporal retries the activity
            (see ``openai_reasoner.DEFAULT_MAX_RETRIES``).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        anthropic = require("anthropic", "llm", "AnthropicReasoner")
        self.model = model or DEFAULT_ANTHROPIC_MODEL
        self.name = f"anthropic:{self.model}"
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self._client: Any = anthropic.Anthropic(
            api_key=api_key or os.environ.get("ANTHROPIC_API_KEY"),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:  # never the key
        return f"AnthropicReasoner(model={self.model!r}, base_url={self.base_url!r})"

    def ask(self, prompt: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """One message that must call the ``schema_name`` tool; that call's input."""
        message = self._client.messages.create(
            model=self.model,
            max_tokens=MAX_TOKENS,
            system=SYSTEM_PROMPT,
            messages=[{"role": "user", "content": prompt}],
            tools=[
                {
                    "name": schema_name,
                    "description": f"Submit the {schema_name.replace('_', ' ')}.",
                    "input_schema": schema,
                }
            ],
            tool_choice={"type": "tool", "name": schema_name},
        )
        texts = []
        for block in message.content:
            if block.type == "tool_use" and block.name == schema_name:
                if isinstance(block.input, dict):
                    return dict(block.input)
                # A tool input that is not a JSON object (seen as raw text): parse what it is.
                return parse_json(str(block.input), schema_name)
            if block.type == "text":
                texts.append(block.text)
        if texts:
            return parse_json("\n".join(texts), schema_name)
        raise MalformedAnswerError(
            f"the model answered {schema_name} with neither the {schema_name!r} tool nor text "
            f"(stop reason {message.stop_reason!r})"
        )
