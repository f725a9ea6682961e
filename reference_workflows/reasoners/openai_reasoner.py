"""``OpenAIReasoner``: the agents' decisions from any OpenAI-compatible chat completions API.

OpenAI itself, or a local model server that speaks the same API (Ollama, vLLM, llama.cpp's
server, LM Studio): only the base URL differs. The answer is asked for as structured output
(``response_format`` with a JSON schema) at temperature 0, so the same context gets the same
decision as far as the model allows. The ``openai`` package (the ``[llm]`` extra) is imported
when the first request is made, so the reference system runs without it.
"""

from __future__ import annotations

import os
from typing import Any

from .answers import SYSTEM_PROMPT, ModelReasoner, parse_json
from .extras import require

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
LOCAL_SERVER_KEY = "not-needed"
"""The key sent to a base URL given without one: local servers ignore it, the client needs one."""
DEFAULT_TIMEOUT = 30.0
"""Seconds one request may take; shorter than the agent activities' start-to-close timeout, so a
slow model fails the attempt with the client's own error rather than Temporal's timeout."""
DEFAULT_MAX_RETRIES = 0
"""The client's own retries. None: Temporal retries the activity instead, with the workflow's
backoff, each attempt in the history, and one request per attempt; client retries inside an
attempt would multiply the attempts and can outlast its start-to-close timeout."""


class OpenAIReasoner(ModelReasoner):
    """A ``Reasoner`` that asks a chat completions model.

    Args:
        model: the model name (``gpt-4o-mini`` by default; for a local server, its name there,
            e.g. ``llama3.1``).
        base_url: the API's base URL (``http://localhost:11434/v1`` for Ollama); default
            ``OPENAI_BASE_URL``, else OpenAI.
        api_key: default ``OPENAI_API_KEY``; with a base URL and no key, a placeholder (local
            servers need none). It stays in this object and the client, in the worker.
        timeout: seconds per request.
        max_retries: the client's own retries (see ``DEFAULT_MAX_RETRIES``).
        json_schema: ask for ``response_format`` ``json_schema`` (default); False asks for
            ``json_object``, for servers that know only JSON mode.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        json_schema: bool = True,
    ) -> None:
        openai = require("openai", "llm", "OpenAIReasoner")
        self.model = model or DEFAULT_OPENAI_MODEL
        self.name = f"openai:{self.model}"
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key and self.base_url:
            key = LOCAL_SERVER_KEY
        # Built here, in the worker: a missing key fails when the worker starts, not in every
        # activity attempt. The client is thread-safe; the agents' threads share it.
        self._client: Any = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout, max_retries=max_retries
        )
        self._json_schema = json_schema

    def __repr__(self) -> str:  # never the key
        return f"OpenAIReasoner(model={self.model!r}, base_url={self.base_url!r})"

    def _response_format(self, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
        if not self._json_schema:
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": True},
        }

    def ask(self, prompt: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """One chat completion at temperature 0; its message's JSON content."""
        completion = self._client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
            temperature=0,
            response_format=self._response_format(schema_name, schema),
        )
        message = completion.choices[0].message
        refusal = getattr(message, "refusal", None)
        return parse_json(message.content or refusal, schema_name)
