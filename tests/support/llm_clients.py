"""Real openai and anthropic clients, sync or async, behind one awaitable interface
(used by tests/llm)."""

from __future__ import annotations

import functools
import inspect
from typing import Any


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
