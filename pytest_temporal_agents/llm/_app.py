"""The Starlette app: one endpoint per API, each answering from the script.

How each kind of reply goes out:

- a message: the API's JSON body, or its event stream when the client asked for one;
- a failure: the status, the API's error body, and ``retry-after`` when scripted;
- a hang: nothing until the test ends, then an error the clients do not retry;
- truncated: the first half of the body or stream, then the connection is dropped;
- nothing scripted while a cassette is in use: the recorded answer (``_cassette_play.py``),
  or a 400 naming what drifted;
- nothing scripted, a body that is not JSON, a parameter the fake does not implement,
  a path it does not serve: a 4xx in the API's error format with ``x-should-retry:
  false``, naming the request; the request's ``problem`` fails the test at teardown.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import _anthropic, _openai
from ._cassette import RECORDED_APIS, Interaction, stream_text
from ._cassette_play import CassettePlayer, RawRequest
from ._hangs import Hangs
from ._limits import unsupported
from ._openai_responses import response_body, response_events
from ._render import Answer, cut
from ._replies import Reply
from ._requests import (
    ANTHROPIC_MESSAGES,
    ANTHROPIC_MODELS,
    OPENAI_CHAT,
    OPENAI_EMBEDDINGS,
    OPENAI_MODELS,
    OPENAI_RESPONSES,
    UNKNOWN,
    LLMRequest,
    read_request,
)
from ._script import UNSCRIPTED, Script, usage_for

#: Per API: the plain body and the stream (None: never streamed) of a message reply.
RENDERERS: dict[
    str, tuple[Callable[[Answer], dict[str, Any]], Callable[[Answer], list[str]] | None]
] = {
    OPENAI_CHAT: (_openai.chat_body, _openai.chat_events),
    OPENAI_RESPONSES: (response_body, response_events),
    ANTHROPIC_MESSAGES: (_anthropic.message_body, _anthropic.message_events),
    OPENAI_EMBEDDINGS: (_openai.embeddings_body, None),
}
#: What answers an embeddings request that no rule takes: the vectors, from the text.
VECTORS = Reply("message")

SERVED = (
    "POST /v1/chat/completions, POST /v1/responses, POST /v1/embeddings, GET /v1/models, "
    "GET /v1/models/{id} (OpenAI, base URL fake_llm.openai_base_url) and POST /v1/messages, "
    "GET /v1/models (Anthropic, base URL fake_llm.anthropic_base_url)"
)
UNKNOWN_PATH = "the fake model server does not serve {method} {path}; it serves {served}"
HANG_RELEASED = "released without an answer: the test that scripted hang() for it has ended"
NOT_EMBEDDINGS = (
    "a rule when(api='openai.embeddings') answered with {reply}; embeddings answer themselves "
    "(vectors from the text), and only fail(), hang() and truncated() apply to them"
)
UNKNOWN_MODEL = "the model {model!r} is not in the fake's list ({models}); pass FakeLLM(models=...)"


def _provider(request: LLMRequest) -> Any:
    if request.api.startswith("anthropic") or (
        request.api == UNKNOWN and _anthropic.is_anthropic(request.headers)
    ):
        return _anthropic
    return _openai


def build_app(
    script: Script,
    models: list[str],
    hangs: Hangs,
    cassette: Callable[[], CassettePlayer | None] = lambda: None,
) -> Starlette:
    """The ASGI app that answers from ``script`` (then from ``cassette()``, when one is in
    use), lists ``models``, and keeps ``hangs``."""

    def error(record: LLMRequest, status: int, message: str, headers: dict[str, str]) -> Response:
        body, own = _provider(record).error(status, message, record.number)
        record.status = status
        return JSONResponse(body, status_code=status, headers={**own, **headers})

    def refuse(record: LLMRequest, status: int = 400) -> Response:
        message = f"pytest-temporal-agents fake model server: {record.describe()}: {record.problem}"
        return error(record, status, message, {"x-should-retry": "false"})

    async def read(request: Request, api: str, *, keep: bool = True) -> LLMRequest:
        """The request, numbered and kept in the script (unless ``keep`` is false: then
        ``script.choose`` keeps it as it takes its reply, in one step)."""
        raw = await request.body()
        record = read_request(api, request.method, request.url.path, request.headers, raw)
        # A cassette holds what the real API answered: the fake's own limits do not apply.
        if record.problem is None and isinstance(record.body, dict) and cassette() is None:
            record.problem = unsupported(api, record.body)
        if keep or record.problem is not None:
            script.record(record)
        return record

    def render(record: LLMRequest, reply: Reply) -> Response:
        record.usage = usage = usage_for(record, reply)
        answer = Answer(record, reply, usage, int(time.time()))
        body, events = RENDERERS[record.api]
        stream = record.stream and events is not None
        if events is not None and stream:
            chunks = [event.encode() for event in events(answer)]
        else:
            chunks = [json.dumps(body(answer)).encode()]
        record.status = 200
        if reply.kind == "truncated":
            return _Cut(chunks, stream=stream)
        if not stream:
            return Response(chunks[0], media_type="application/json")
        return StreamingResponse(_iterate(chunks), media_type="text/event-stream")

    async def answer(record: LLMRequest, reply: Reply | None, arrived_after: int) -> Response:
        if record.api == OPENAI_EMBEDDINGS:  # they answer themselves, unless a rule takes them
            if reply is None:
                return render(record, VECTORS)
            if reply.kind == "message":
                record.problem = NOT_EMBEDDINGS.format(reply=reply.describe())
                return refuse(record)
        if reply is None:
            record.problem = record.problem or UNSCRIPTED
            return refuse(record)
        record.reply = reply
        if reply.kind == "failure":
            assert reply.status is not None and reply.message is not None
            retry = {} if reply.retry_after is None else _retry_headers(record, reply.retry_after)
            return error(record, reply.status, reply.message, retry)
        if reply.kind == "hang":
            await hangs.wait(arrived_after)
            return error(record, 400, HANG_RELEASED, {"x-should-retry": "false"})
        return render(record, reply)

    def scripted(api: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            arrived_after = hangs.releases
            # Kept and answered in one step: a reset() between the two would answer a request
            # that came before it from the script after it.
            record = await read(request, api, keep=False)
            if record.problem is not None:
                return refuse(record)
            # In a thread: a respond_with function is user code (slow, or calling a client).
            reply = await run_in_threadpool(script.choose, record)
            player = cassette()
            if reply is None and record.problem is None and player and api in RECORDED_APIS:
                return await play(player, request, record)
            return await answer(record, reply, arrived_after)

        return endpoint

    async def play(player: CassettePlayer, request: Request, record: LLMRequest) -> Response:
        raw = RawRequest(
            request.method, request.url.path, request.url.query, request.headers, await request.body()
        )
        interaction = await player.answer(record, raw)
        return refuse(record) if interaction is None else _replayed(interaction)

    async def model_list(request: Request) -> Response:
        provider = _anthropic if _anthropic.is_anthropic(request.headers) else _openai
        api = ANTHROPIC_MODELS if provider is _anthropic else OPENAI_MODELS
        record = await read(request, api)
        name = request.path_params.get("model_id")
        if name is not None and name not in models:
            record.problem = UNKNOWN_MODEL.format(model=name, models=", ".join(models))
            return refuse(record, 404)
        record.status = 200
        listed = provider.models(models) if name is None else provider.model(name)
        return JSONResponse(listed)

    async def unknown(request: Request, exc: Exception) -> Response:
        record = await read(request, UNKNOWN)
        path = request.url.path
        record.problem = UNKNOWN_PATH.format(method=request.method, path=path, served=SERVED)
        return refuse(record, 404)

    routes = [
        Route("/v1/chat/completions", scripted(OPENAI_CHAT), methods=["POST"]),
        Route("/v1/responses", scripted(OPENAI_RESPONSES), methods=["POST"]),
        Route("/v1/messages", scripted(ANTHROPIC_MESSAGES), methods=["POST"]),
        Route("/v1/embeddings", scripted(OPENAI_EMBEDDINGS), methods=["POST"]),
        Route("/v1/models", model_list, methods=["GET"]),
        Route("/v1/models/{model_id:path}", model_list, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: unknown})


def _replayed(interaction: Interaction) -> Response:
    """A recorded answer as it came: status, kept headers, JSON body or events."""
    headers = {k: v for k, v in interaction.headers.items() if k != "content-type"}
    status = interaction.status
    if interaction.events is not None:
        chunks = [stream_text([event]).encode() for event in interaction.events]
        return StreamingResponse(
            _iterate(chunks), status, headers, media_type="text/event-stream"
        )
    if isinstance(interaction.body, str):
        media = interaction.headers.get("content-type", "text/plain")
        return Response(interaction.body, status, headers, media_type=media)
    return JSONResponse(interaction.body, status, headers)


def _retry_headers(record: LLMRequest, retry_after: float) -> dict[str, str]:
    if _provider(record) is _openai:
        return _openai.retry_headers(retry_after)
    return {"retry-after": f"{retry_after:g}"}


async def _iterate(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class _Cut(Response):
    """An ASGI response that sends the first half of a body or stream and then drops the
    connection (uvicorn closes it when the app returns before the response is complete)."""

    def __init__(self, chunks: list[bytes], *, stream: bool) -> None:
        super().__init__(media_type="text/event-stream" if stream else "application/json")
        self.stream = stream
        if stream:
            self.chunks = [c.encode() for c in cut([chunk.decode() for chunk in chunks])]
            self.length: int | None = None
        else:
            self.chunks = [chunks[0][: len(chunks[0]) // 2]]
            self.length = len(chunks[0])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        media = b"text/event-stream" if self.stream else b"application/json"
        headers = [(b"content-type", media)]
        if self.length is not None:
            headers.append((b"content-length", str(self.length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
