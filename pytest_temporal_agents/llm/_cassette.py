"""Cassettes: model traffic recorded once and replayed on later runs, as a reviewable file.

A cassette is a YAML file with one entry (an *interaction*) per request: what was asked
(API, path, model, the messages, tools and other parameters, normalised) and what came back
(status, the headers that matter, the JSON body as structure, or a stream's events one per
line), with the usage budgets count. Secrets never get in: request headers are not stored
at all, and any text equal to an upstream key is replaced before the file is written.

This module reads and writes the file; ``_cassette_match.py`` matches requests to entries
and says what drifted; ``_cassette_play.py`` answers requests from a cassette.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import FakeLLMError, require
from ._replies import Usage
from ._requests import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, LLMRequest

#: The format written, and the only one read.
VERSION = 1
#: Replaces an upstream key wherever it would have reached the file.
SCRUBBED = "<scrubbed>"
#: Response headers worth keeping: how to read the body, and when to retry.
KEPT_RESPONSE_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-should-retry")
#: Request body fields that are the conversation itself (stored apart, matched on).
CONVERSATION_FIELDS = ("model", "stream", "messages", "input", "instructions", "system", "tools")

HEADER = """\
# A cassette of pytest-temporal-agents: model traffic recorded through fake_llm, replayed
# by later runs. Review it like code. Re-record with --llm-record=all (docs/how-to/cassettes.md).
"""

CORRUPT = """\
The cassette {path} cannot be read: {problem}.
Re-record it with --llm-record=all (or fix the file by hand; its format is in
docs/how-to/cassettes.md)."""


class CassetteError(FakeLLMError):
    """A cassette file that is missing, unreadable or not a cassette."""


@dataclass
class Interaction:
    """One recorded request and its answer.

    Attributes:
        api: the API (``"openai.chat"``, ...), as :attr:`LLMRequest.api`.
        path: the URL path asked for.
        model: the model asked for.
        stream: the client asked for a stream.
        system: responses ``instructions`` or Anthropic ``system`` (its text).
        messages: the conversation, in the API's own form.
        tools: the tools offered.
        params: the rest of the request body (temperature, max_tokens, ...): kept for
            review, not matched on.
        status: the HTTP status of the answer.
        headers: the answer's headers that matter (``KEPT_RESPONSE_HEADERS``).
        body: the answer's JSON body (None for a stream).
        events: a stream's events, ``{"event": name, "data": JSON}`` each (None if no stream).
        usage: the tokens budgets count for it (None for an error).
        estimated: the usage was counted from the text, the answer carrying none.
    """

    api: str
    path: str
    model: str | None = None
    stream: bool = False
    system: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    events: list[dict[str, Any]] | None = None
    usage: Usage | None = None
    estimated: bool = False

    @classmethod
    def asked(cls, request: LLMRequest) -> Interaction:
        """The request side of an interaction, from a request the fake received."""
        body = request.body if isinstance(request.body, dict) else {}
        params = {k: v for k, v in body.items() if k not in CONVERSATION_FIELDS}
        return cls(
            api=request.api,
            path=request.path,
            model=request.model,
            stream=request.stream,
            system=request.system,
            messages=list(request.messages),
            tools=list(request.tools),
            params=params,
        )

    def describe(self, number: int) -> str:
        """One line naming it: ``interaction #2 (openai.chat, model 'gpt-4o', stream)``."""
        stream = ", stream" if self.stream else ""
        return f"interaction #{number} ({self.api}, model {self.model!r}{stream})"

    def to_yaml(self) -> dict[str, Any]:
        request: dict[str, Any] = {"api": self.api, "path": self.path, "model": self.model}
        request["stream"] = self.stream
        if self.system is not None:
            request["system"] = self.system
        request["messages"] = self.messages
        request["tools"] = self.tools
        if self.params:
            request["params"] = self.params
        response: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.events is not None:
            response["events"] = [_Flow(event) for event in self.events]
        else:
            response["body"] = self.body
        entry: dict[str, Any] = {"request": request, "response": response}
        if self.usage is not None:
            usage = {"input_tokens": self.usage.input_tokens}
            usage["output_tokens"] = self.usage.output_tokens
            entry["usage"] = {**usage, "estimated": True} if self.estimated else usage
        return entry

    @classmethod
    def from_yaml(cls, entry: Any, number: int) -> Interaction:
        """Read one entry; raises ``ValueError`` naming what is wrong with it."""
        where = f"interaction #{number}"
        request, response = _mapping(entry, where, "request"), _mapping(entry, where, "response")
        api, path = request.get("api"), request.get("path")
        if not isinstance(api, str) or not isinstance(path, str):
            raise ValueError(f"{where}: request.api and request.path must be texts")
        status = response.get("status")
        if not isinstance(status, int):
            raise ValueError(f"{where}: response.status must be an HTTP status number")
        events = response.get("events")
        if events is not None and not (
            isinstance(events, list) and all(isinstance(e, dict) and "data" in e for e in events)
        ):
            raise ValueError(f"{where}: response.events must be a list of {{event, data}}")
        usage, estimated = _usage(entry.get("usage"), where)
        return cls(
            api=api,
            path=path,
            model=request.get("model"),
            stream=request.get("stream") is True,
            system=request.get("system"),
            messages=_dicts(request.get("messages"), f"{where}: request.messages"),
            tools=_dicts(request.get("tools"), f"{where}: request.tools"),
            params=dict(request.get("params") or {}),
            status=status,
            headers={str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()},
            body=response.get("body"),
            events=[dict(e) for e in events] if events is not None else None,
            usage=usage,
            estimated=estimated,
        )


def _mapping(entry: Any, where: str, name: str) -> dict[str, Any]:
    value = entry.get(name) if isinstance(entry, dict) else None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: it has no {name!r} mapping")
    return value


def _dicts(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{where} must be a list of mappings")
    return list(value)


def _usage(value: Any, where: str) -> tuple[Usage | None, bool]:
    if value is None:
        return None, False
    given = value if isinstance(value, dict) else {}
    tokens = [given.get("input_tokens"), given.get("output_tokens")]
    counts = [t for t in tokens if isinstance(t, int) and not isinstance(t, bool) and t >= 0]
    if len(counts) != 2:
        raise ValueError(f"{where}: usage needs input_tokens and output_tokens, whole numbers")
    return Usage(counts[0], counts[1]), given.get("estimated") is True


class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written on one line: one stream event per line of the file."""


@dataclass
class Cassette:
    """The interactions of one cassette file, in the order they were recorded.

    Attributes:
        path: the file.
        interactions: what it holds (or will hold once saved).
    """

    path: Path
    interactions: list[Interaction] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """Read a cassette file.

        Raises:
            CassetteError: it is not YAML, not a cassette, or of another version.
        """
        yaml = require("yaml")
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader(yaml))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise CassetteError(CORRUPT.format(path=path, problem=_one_line(err))) from None
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            problem = "it is not a cassette (a mapping with 'version' and 'interactions')"
            raise CassetteError(CORRUPT.format(path=path, problem=problem))
        if data.get("version") != VERSION:
            problem = f"its version is {data.get('version')!r}; this release reads {VERSION}"
            raise CassetteError(CORRUPT.format(path=path, problem=problem))
        try:
            found = [Interaction.from_yaml(e, n) for n, e in enumerate(data["interactions"], 1)]
        except ValueError as err:
            raise CassetteError(CORRUPT.format(path=path, problem=err)) from None
        return cls(path, found)

    def dumps(self, secrets: Iterable[str] = ()) -> str:
        """The file's text; every secret given is replaced by ``<scrubbed>``."""
        yaml = require("yaml")
        data = {"version": VERSION, "interactions": [i.to_yaml() for i in self.interactions]}
        text: str = HEADER + yaml.dump(
            data, Dumper=_dumper(yaml), sort_keys=False, allow_unicode=True, width=1_000_000
        )
        for secret in secrets:
            if len(secret) >= 8:  # an empty or tiny "key" would scrub ordinary text
                text = text.replace(secret, SCRUBBED)
        return text

    def save(self, secrets: Iterable[str] = ()) -> None:
        """Write the file (and its directories), atomically, secrets scrubbed."""
        text = self.dumps(secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _loader(yaml: Any) -> Any:
    """The pure-Python safe loader: cassettes are small, and libyaml's loader breaks when
    ``yaml`` is imported afresh in one process (pytester's in-process runs do that)."""
    return yaml.SafeLoader


def _dumper(yaml: Any) -> Any:
    """A safe dumper that writes texts of several lines as ``|`` blocks and stream events
    as one-line mappings: a reviewer reads a prompt as text and a stream event by event."""

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value and not _awkward(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    def flow(dumper: Any, value: _Flow) -> Any:
        return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)

    Dumper.add_representer(str, text)
    Dumper.add_representer(_Flow, flow)
    return Dumper


def _awkward(value: str) -> bool:
    """Texts a ``|`` block would not give back exactly (YAML then quotes them)."""
    return any(line != line.rstrip() for line in value.split("\n")) or "\t" in value


def stream_text(events: list[dict[str, Any]]) -> str:
    """The ``data:`` payloads of events as they go on the wire (JSON compact, text as is)."""
    return "".join(_sse(event) for event in events)


def _sse(event: dict[str, Any]) -> str:
    data = event.get("data")
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    name = event.get("event")
    return (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"


def parse_events(text: str) -> list[dict[str, Any]]:
    """Server-sent events, each ``{"event": name, "data": JSON}`` (``event`` only when
    named; ``data`` as text when it is not JSON, as OpenAI's ``[DONE]``)."""
    events: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if not data:
            continue
        payload = "\n".join(data)
        try:
            parsed: Any = json.loads(payload)
        except ValueError:
            parsed = payload
        events.append({"event": name, "data": parsed} if name else {"data": parsed})
    return events


#: The APIs whose answers a cassette holds (the others answer themselves or are refused).
RECORDED_APIS = (OPENAI_CHAT, OPENAI_RESPONSES, ANTHROPIC_MESSAGES)
