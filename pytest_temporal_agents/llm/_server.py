"""The HTTP server: a Starlette app served by uvicorn on 127.0.0.1, in a thread of its own.

The thread runs its own event loop, so the server answers while the test's loop (or a
Temporal worker's threads) wait on a client. The app reads each request into an
:class:`LLMRequest`, takes its reply from the :class:`Script`, and renders it for the API
the request came through; see ``_app.py`` for how each kind of reply is sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import FakeLLMError, require
from ._hangs import Hangs
from ._script import Script

if TYPE_CHECKING:
    from ._cassette_play import CassettePlayer

#: Seconds to wait for the server to start, and for it to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_THREAD_PREFIX = "fake-llm-server"


class _QuietServerThread(logging.Filter):
    """Keeps uvicorn's own chatter from the fake's thread out of the test's logs: its info
    lines, and the error it logs when the fake cuts a connection on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.threadName or not record.threadName.startswith(_THREAD_PREFIX):
            return True
        cut_on_purpose = record.getMessage().startswith("ASGI callable returned without")
        return record.levelno >= logging.WARNING and not cut_on_purpose


_QUIET = _QuietServerThread()


class ModelServer:
    """One uvicorn server in a background thread, answering from a :class:`Script`."""

    def __init__(
        self,
        script: Script,
        models: Sequence[str],
        *,
        cassette: Callable[[], CassettePlayer | None] = lambda: None,
    ) -> None:
        self.script = script
        self.cassette = cassette  # the cassette in use, asked per request
        self.models = list(models)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._failure: BaseException | None = None
        self.hangs = Hangs()
        self.port: int | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start serving on an ephemeral port of 127.0.0.1; return once it accepts requests.

        Raises:
            LLMExtraMissing: starlette or uvicorn is not installed.
            FakeLLMError: the server did not start.
        """
        uvicorn = require("uvicorn")
        require("starlette")
        from ._app import build_app  # imports starlette: only once it is known to be there

        config = uvicorn.Config(
            build_app(self.script, self.models, self.hangs, self.cassette),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        for name in ("uvicorn.error", "uvicorn"):
            if _QUIET not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_QUIET)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name=_THREAD_PREFIX, daemon=True
        )
        self._thread.start()
        if not started.wait(START_TIMEOUT) or self._failure is not None or self.port is None:
            self.stop()
            raise FakeLLMError(f"The fake model server did not start: {self._failure!r}")
        self._thread.name = f"{_THREAD_PREFIX}-{self.port}"

    def _serve(self, started: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._run(started))
        except BaseException as err:  # noqa: BLE001 - reported by start() or stop()
            self._failure = err
        finally:
            started.set()
            loop.close()

    async def _run(self, started: threading.Event) -> None:
        serving = asyncio.ensure_future(self._server.serve())
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.005)
        if self._server.started:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
            started.set()
        await serving

    def release_hangs(self) -> None:
        """Let every hanging request go (each is then answered with an error)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.hangs.release)
            except RuntimeError:  # the loop closed meanwhile: nothing hangs any more
                pass

    def stop(self) -> None:
        """Stop serving: release hanging requests, close connections, end the thread."""
        self.release_hangs()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._thread = None
