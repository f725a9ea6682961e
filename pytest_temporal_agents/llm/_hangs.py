"""Requests scripted to hang: they wait, in the server's event loop, until let go."""

from __future__ import annotations

import asyncio


class Hangs:
    """The hanging requests of one server. Used only from the server's event loop."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()
        #: How many times hanging requests were let go: a request that arrived before the
        #: latest release must not start hanging after it.
        self.releases = 0

    async def wait(self, arrived_after: int) -> None:
        """Wait until :meth:`release`, unless it was called since the request arrived
        (``arrived_after``: :attr:`releases` then)."""
        if self.releases != arrived_after:
            return
        event = asyncio.Event()
        self._waiting.add(event)
        try:
            await event.wait()
        finally:
            self._waiting.discard(event)

    def release(self) -> None:
        """Let every hanging request go."""
        self.releases += 1
        for event in list(self._waiting):
            event.set()
