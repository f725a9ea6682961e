"""Real openai and anthropic clients, sync or async, behind one awaitable interface
(used by tests/llm)."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

from pytest_temporal_agents.llm import FakeLLM

#: Per API: the method that answers at once, the stream helper, and what the helper returns.
APIS = {
    "chat": ("chat.completions.create", "chat.completions.stream", "get_final_completion"),
    "responses": ("responses.create", "responses.stream", "get_final_response"),
    "messages": ("messages.create", "messages.stream", "get_final_message"),
}


class Client:
    """A real client (sync or async) whose calls a test awaits either way."""

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async

    def _method(self, path: str) -> Any:
        return functools.reduce(getattr, path.split("."), self.client)

    async def call(self, path: str, **kwargs: Any) -> Any:
        """``client.<path>(**kwargs)``: the parsed response."""
        result = self._method(path)(**kwargs)
        return await result if inspect.isawaitable(result) else result

    async def events(self, path: str, **kwargs: Any) -> list[Any]:
        """Every event of ``client.<path>(stream=True, **kwargs)``, read to the end."""
        stream = await self.call(path, stream=True, **kwargs)
        if self.is_async:
            return [event async for event in stream]
        return list(stream)

    async def final(self, path: str, final: str, **kwargs: Any) -> Any:
        """Read the client's stream helper (``client.<path>(...)``) to the end; return what
        its ``final`` method accumulated (``get_final_completion``, ...)."""
        manager = self._method(path)(**kwargs)
        if self.is_async:
            async with manager as stream:
                async for _ in stream:
                    pass
                return await getattr(stream, final)()
        with manager as stream:
            for _ in stream:
                pass
            return getattr(stream, final)()

    async def answer(self, api: str, *, stream: bool, **kwargs: Any) -> Any:
        """The answer of ``api`` ("chat", "responses", "messages"): from its plain method,
        or, with ``stream``, accumulated by the client's own stream helper."""
        create, helper, final = APIS[api]
        if stream:
            return await self.final(helper, final, **kwargs)
        return await self.call(create, **kwargs)


class BackgroundCall:
    """A chat request made in another thread (one that will hang), recorded once the
    fake has received it."""

    def __init__(self, fake: FakeLLM) -> None:
        self.errors: list[Exception] = []
        self._thread = threading.Thread(target=self._call, args=(fake,))
        self._thread.start()
        while not fake.requests:
            threading.Event().wait(0.01)

    def _call(self, fake: FakeLLM) -> None:
        import openai

        with fake.openai_client(timeout=60) as client:
            try:
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
            except openai.APIError as err:
                self.errors.append(err)

    def ended(self) -> bool:
        """Whether the call returned (waiting at most 30 s for it)."""
        self._thread.join(30)
        return not self._thread.is_alive()
