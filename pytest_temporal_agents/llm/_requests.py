"""What the fake records of each request: :class:`LLMRequest`, read from any API's body.

Secrets never reach a record: the headers that carry keys, tokens or cookies are dropped
before the record is made, so no repr, report or log of a record can show one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._replies import Reply, Usage, estimate_tokens

#: The APIs the fake speaks, as ``LLMRequest.api`` names them.
OPENAI_CHAT = "openai.chat"
OPENAI_RESPONSES = "openai.responses"
OPENAI_EMBEDDINGS = "openai.embeddings"
OPENAI_MODELS = "openai.models"
ANTHROPIC_MESSAGES = "anthropic.messages"
ANTHROPIC_MODELS = "anthropic.models"
UNKNOWN = "unknown"
#: The APIs a scripted reply answers (embeddings and model lists answer themselves).
GENERATIVE = (OPENAI_CHAT, OPENAI_RESPONSES, ANTHROPIC_MESSAGES)

#: Header names (lower case) containing one of these are never recorded.
SECRET_HEADER_PARTS = ("authorization", "api-key", "apikey", "cookie", "token", "secret")


def scrub_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers, lower-cased, without any that may carry a credential."""
    return {
        name.lower(): value
        for name, value in headers.items()
        if not any(part in name.lower() for part in SECRET_HEADER_PARTS)
    }


@dataclass(eq=False)
class LLMRequest:
    """One request the fake received, and what it answered.

    Attributes:
        api: ``"openai.chat"``, ``"openai.responses"``, ``"openai.embeddings"``,
            ``"openai.models"``, ``"anthropic.messages"``, ``"anthropic.models"``, or
            ``"unknown"`` for a path the fake does not serve.
        method: the HTTP method.
        path: the URL path, such as ``/v1/chat/completions``.
        model: the model asked for, if any.
        messages: the conversation in that API's own form (chat ``messages``, responses
            ``input`` as a list, Anthropic ``messages``); empty for other APIs.
        system: the system prompt, where the API keeps it apart (responses
            ``instructions``, Anthropic ``system``); None otherwise.
        tools: the tools offered, in that API's own form.
        stream: the client asked for a stream.
        body: the parsed JSON body (None when it was not JSON).
        headers: the request headers, lower-cased, without credentials.
        inputs: the texts of an embeddings request.
        reply: the scripted reply that answered it, or None.
        usage: the tokens recorded for it (None when it got no answer).
        status: the HTTP status it got (None while it hangs).
        problem: why the fake refused it (unscripted, unsupported, not JSON), or None.
        number: its position among the requests of the test, from 1.
    """

    api: str
    method: str = "POST"
    path: str = ""
    model: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    system: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    stream: bool = False
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    reply: Reply | None = None
    usage: Usage | None = None
    status: int | None = None
    problem: str | None = None
    number: int = 0

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered, in any API's form."""
        names = []
        for tool in self.tools:
            function = tool.get("function")
            name = function.get("name") if isinstance(function, dict) else tool.get("name")
            if isinstance(name, str):
                names.append(name)
        return names

    @property
    def last_message(self) -> dict[str, Any] | None:
        """The last message (or input item) of the conversation."""
        return self.messages[-1] if self.messages else None

    @property
    def last_text(self) -> str:
        """The text of the last message (tool results included); for embeddings, the inputs."""
        if self.inputs:
            return "\n".join(self.inputs)
        return text_of(self.last_message)

    @property
    def include_usage(self) -> bool:
        """A chat stream asked for usage (``stream_options.include_usage``)."""
        options = self.body.get("stream_options") if isinstance(self.body, dict) else None
        return isinstance(options, dict) and options.get("include_usage") is True

    def input_tokens(self) -> int:
        """Tokens of the request, counted from its text (system, messages, tools, inputs)."""
        parts = [self.system or "", *(text_of(m) for m in self.messages), *self.inputs]
        if self.tools:
            parts.append(json.dumps(self.tools, sort_keys=True))
        return max(1, sum(estimate_tokens(part) for part in parts))

    def describe(self) -> str:
        """One line naming the request: its API, model and last message."""
        where = f"{self.api} request #{self.number}"
        if self.api == UNKNOWN:
            return f"{where} ({self.method} {self.path})"
        role = (self.last_message or {}).get("role") or (self.last_message or {}).get("type")
        last = _quote(self.last_text)
        said = f", last message {role}: {last}" if role else (f", input {last}" if last else "")
        return f"{where} (model {self.model!r}{said})"

    def __repr__(self) -> str:
        status = "hanging" if self.status is None else self.status
        return f"<LLMRequest {self.describe()} stream={self.stream} status={status}>"


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def text_of(value: Any) -> str:
    """The text in a message, content block or input item of any API, joined by spaces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(filter(None, (text_of(item) for item in value)))
    if not isinstance(value, dict):
        return ""
    parts = [text_of(value.get(key)) for key in ("text", "content", "output")]
    if value.get("type") in ("tool_use", "function_call"):
        parts.append(f"{value.get('name', '')} {value.get('arguments') or value.get('input')}")
    for call in value.get("tool_calls") or ():
        function = call.get("function", {}) if isinstance(call, dict) else {}
        parts.append(f"{function.get('name', '')} {function.get('arguments', '')}")
    return " ".join(part for part in parts if part)


def read_request(
    api: str, method: str, path: str, headers: Mapping[str, str], raw: bytes
) -> LLMRequest:
    """Make the record of a request; a body that is not a JSON object sets ``problem``."""
    request = LLMRequest(api=api, method=method, path=path, headers=scrub_headers(headers))
    if method != "POST":
        return request
    try:
        body = json.loads(raw)
    except ValueError as err:
        request.problem = (
            f"the body of {method} {path} is not JSON ({err}); the fake, like the real API, "
            "needs a JSON object: send the request through the openai or anthropic client"
        )
        return request
    request.body = body
    if not isinstance(body, dict):
        request.problem = f"the body of {method} {path} is JSON but not an object: {body!r:.80}"
        return request
    request.model = body.get("model") if isinstance(body.get("model"), str) else None
    request.stream = body.get("stream") is True
    request.tools = [t for t in body.get("tools") or () if isinstance(t, dict)]
    if api == OPENAI_CHAT:
        request.messages = _dicts(body.get("messages"))
    elif api == OPENAI_RESPONSES:
        given, instructions = body.get("input"), body.get("instructions")
        if isinstance(given, str):
            given = [{"role": "user", "content": given}]
        request.messages = _dicts(given)
        request.system = instructions if isinstance(instructions, str) else None
    elif api == ANTHROPIC_MESSAGES:
        request.messages = _dicts(body.get("messages"))
        request.system = text_of(body.get("system")) or None
    elif api == OPENAI_EMBEDDINGS:
        request.inputs = _embedding_inputs(body.get("input"))
    return request


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _embedding_inputs(value: Any) -> list[str]:
    """Embeddings take a string, a list of strings, token ids, or lists of token ids."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [json.dumps(value)]
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    return []
