"""``FakeLLM``: the fake model server as users hold it.

It owns a :class:`ModelServer` (the HTTP side) and a :class:`Script` (the test's replies
and records), points the environment at the server while active, and hands out clients
wired to it. Usable on its own (``with FakeLLM() as llm:``) or through the ``fake_llm``
fixture, which keeps one server per session and resets it for each test.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, cast

from typing_extensions import Self

from . import _openai
from ._cassette_play import CassettePlayer
from ._errors import FakeLLMError, FakeLLMProblems, require
from ._overrides import Override
from ._proxy import upstreams
from ._render import DEFAULT_MODELS
from ._replies import Reply, Scripting, Usage
from ._requests import LLMRequest
from ._script import Responder, Rule, Script
from ._server import ModelServer

if TYPE_CHECKING:
    import anthropic
    import openai

#: Keys the environment and the ready-made clients carry: obviously not real ones.
DUMMY_OPENAI_KEY = "sk-fake-llm-not-a-real-key"
DUMMY_ANTHROPIC_KEY = "sk-ant-fake-llm-not-a-real-key"
#: Seconds a ready-made client waits for an answer (a forgotten ``hang()`` fails, not stalls).
CLIENT_TIMEOUT = 30.0
#: When one of these is set, 127.0.0.1 is added to NO_PROXY while the fake is active.
#: Set while active: the OpenAI Agents SDK sends its traces to api.openai.com (not to
#: ``OPENAI_BASE_URL``) with ``OPENAI_API_KEY``; a test must not (each trace provider,
#: temporalio's per worker included, reads it when it first traces).
AGENTS_SDK_TRACING_OFF = {"OPENAI_AGENTS_DISABLE_TRACING": "true"}
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

NOT_STARTED = "The fake model server is not running: use `with FakeLLM() as llm:` or call start()."


class FakeLLM(Scripting["FakeLLM"]):
    """A real HTTP server on 127.0.0.1 that answers as OpenAI and Anthropic would, from a script.

    Script it with :meth:`reply`, :meth:`reply_tool_call`, :meth:`reply_tool_calls`,
    :meth:`fail`, :meth:`hang`, :meth:`truncated` and :meth:`malformed_tool_call` (a queue,
    served in order), with rules from :meth:`when`, or with a function
    (:meth:`respond_with`). Every request is recorded in :attr:`requests`.

    Args:
        models: the models ``GET /v1/models`` lists (any model may be asked for in a call).
    """

    #: The fakes whose environment is in place, the latest last (see :meth:`active`).
    _activated: ClassVar[list[FakeLLM]] = []

    def __init__(self, *, models: Sequence[str] = DEFAULT_MODELS) -> None:
        self._script = Script()
        self._cassette: CassettePlayer | None = None
        self._ejected_problems: list[str] = []  # of a cassette ejected before verify()
        self._server = ModelServer(self._script, models, cassette=lambda: self._cassette)
        self._saved_environment: dict[str, str | None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        """Start the server on an ephemeral port (a no-op when it runs already).

        Raises:
            LLMExtraMissing: the ``[llm]`` extra is not installed.
        """
        if not self._server.running:
            self._server.start()
        return self

    def stop(self) -> None:
        """Stop the server; requests still hanging get an error first."""
        self._server.stop()

    @property
    def running(self) -> bool:
        """The server is serving."""
        return self._server.running

    def __enter__(self) -> Self:
        self.start()
        self.activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Restore the environment and stop; then, unless an error is on its way out,
        raise :class:`FakeLLMProblems` if a request went unanswered or a reply unused.
        A cassette in use is ejected (written, when it recorded) either way."""
        self.deactivate()
        self.stop()
        try:
            if exc_type is None:
                self.verify()
        finally:
            self.eject_cassette()

    def activate(self) -> None:
        """Point unmodified clients here: set ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``,
        ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` (dummy keys), remembering what
        they were (also that they were unset). Also turn off the Agents SDK's trace
        export (:data:`AGENTS_SDK_TRACING_OFF`), which would reach the network."""
        if self._saved_environment is not None:
            return
        wanted = {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": DUMMY_OPENAI_KEY,
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "ANTHROPIC_API_KEY": DUMMY_ANTHROPIC_KEY,
            **AGENTS_SDK_TRACING_OFF,
        }
        if any(os.environ.get(name) for name in PROXY_VARIABLES):
            for name in ("NO_PROXY", "no_proxy"):
                wanted[name] = ",".join(filter(None, (os.environ.get(name), "127.0.0.1")))
        self._saved_environment = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        FakeLLM._activated.append(self)

    def deactivate(self) -> None:
        """Restore every environment variable :meth:`activate` set, unsetting those that
        were unset."""
        saved, self._saved_environment = self._saved_environment, None
        if self in FakeLLM._activated:
            FakeLLM._activated.remove(self)
        for name, value in (saved or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @classmethod
    def active(cls) -> FakeLLM | None:
        """The fake the environment points the clients at now (the latest activated), if any:
        the ``fake_llm`` fixture's during a test that uses it. The fault API's model faults
        act on it."""
        return cls._activated[-1] if cls._activated else None

    # -- where it listens ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the server's root."""
        if not self._server.running or self._server.port is None:
            raise FakeLLMError(NOT_STARTED)
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI clients' base URL: :attr:`base_url` + ``/v1``."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic clients' base URL (they add ``/v1`` themselves): :attr:`base_url`."""
        return self.base_url

    # -- scripting -------------------------------------------------------------------------------

    def _add(self, reply: Reply) -> FakeLLM:
        self._script.enqueue(reply)
        return self

    def when(
        self,
        *,
        contains: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        api: str | None = None,
    ) -> Rule:
        """A rule: replies for the requests that match every criterion given.

        Rules are tried in the order they were made, before the queue.

        Args:
            contains: text the request's last message contains (a tool result included).
            model: the model asked for.
            tool: the name of a tool the request offers.
            api: ``"openai.chat"``, ``"openai.responses"``, ``"anthropic.messages"``,
                ``"openai.embeddings"``, or a provider (``"openai"``, ``"anthropic"``).

        Returns:
            A :class:`Rule` with the same scripting methods as the fake.

        Raises:
            FakeLLMError: ``api`` is not one of those.
        """
        rule = Rule(self._script.lock, contains=contains, model=model, tool=tool, api=api)
        return self._script.add_rule(rule)

    def override(
        self,
        reply: Reply,
        *,
        contains: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        api: str | None = None,
        times: int | None = None,
    ) -> Override:
        """Answer the matching requests with ``reply`` ahead of everything scripted, until
        the override is closed (it is a context manager). The fault API's model faults hold
        one while a faulted activity attempt runs.

        Args:
            reply: built with :data:`replies` (``replies.fail(503)``, ``replies.hang()``, ...).
            contains / model / tool / api: match requests as :meth:`when` does; none given
                matches every chat, responses and messages request.
            times: answer at most this many requests (None: all while armed).

        Returns:
            The armed :class:`Override`; ``close()`` returns the requests it answered.

        Raises:
            FakeLLMError: not a reply, an unknown ``api``, or ``times`` below 1.
        """
        matcher = Rule(self._script.lock, contains=contains, model=model, tool=tool, api=api)
        override = Override(self._script, reply, matcher, times)
        self._script.arm(override)
        return override

    def release_hangs(self) -> None:
        """Let every request that hangs now go, with an error the clients do not retry."""
        self._server.release_hangs()

    def respond_with(self, responder: Responder) -> FakeLLM:
        """Answer the requests no rule or queued reply answers with a function.

        Args:
            responder: called with the :class:`LLMRequest`; returns a :class:`Reply`
                (built with :data:`replies`), a text (a text reply), or None (no answer:
                the request fails as unscripted). It runs in a thread of the server.
                A later call replaces it.
        """
        self._script.respond_with(responder)
        return self

    def allow_unused(self) -> FakeLLM:
        """Do not fail the test for scripted replies (or recorded interactions) no request took."""
        self._script.allow_unused = True
        return self

    # -- cassettes ---------------------------------------------------------------------------------

    def use_cassette(self, path: str | Path, *, record: str = "none") -> CassettePlayer:
        """Answer chat, responses and messages requests from a cassette file, recording
        what it lacks through the real provider when ``record`` allows.

        Scripted replies and rules still come first; the cassette answers what they do not.
        The upstream is read now from the environment as it was before :meth:`activate`
        (``OPENAI_BASE_URL``/``OPENAI_API_KEY``, ``ANTHROPIC_BASE_URL``/``ANTHROPIC_API_KEY``).

        Args:
            path: the cassette file (YAML), created when recording.
            record: ``"none"`` (replay only), ``"new"`` (record what is missing) or
                ``"all"`` (record everything, rewriting the file).

        Returns:
            The :class:`CassettePlayer`; leaving ``with fake.use_cassette(...):`` ejects it.

        Raises:
            CassetteError: the file is missing (with ``record="none"``) or unreadable.
            FakeLLMError: another cassette is in use, or ``record`` is not a mode.
        """
        if self._cassette is not None:
            raise FakeLLMError(
                f"use_cassette({str(path)!r}): the cassette {str(self._cassette.path)!r} is in "
                "use; eject it first (fake_llm.eject_cassette(), or leave its with-block)."
            )
        environment = {**os.environ, **(self._saved_environment or {})}
        own_url = f"http://127.0.0.1:{self._server.port}" if self.running else "http://127.0.0.1:0"
        self._cassette = CassettePlayer(
            Path(path), record, upstreams(environment), own_url=own_url, eject=self.eject_cassette
        )
        return self._cassette

    @property
    def cassette(self) -> CassettePlayer | None:
        """The cassette in use, or None."""
        return self._cassette

    def eject_cassette(self) -> None:
        """Stop answering from the cassette; write it when this run recorded into it."""
        player, self._cassette = self._cassette, None
        if player is not None:
            self._ejected_problems += player.problems(allow_unused=self._script.allow_unused)
            player.save()

    # -- what happened ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[LLMRequest]:
        """Every request received since the last reset, in order."""
        return self._script.requests

    @property
    def usage(self) -> Usage:
        """The tokens of every answered request, added up."""
        return sum((r.usage for r in self.requests if r.usage is not None), Usage())

    @staticmethod
    def embedding(
        text: str, *, model: str = "text-embedding-3-small", dimensions: int | None = None
    ) -> list[float]:
        """The vector the fake answers for ``text`` (the same in every run and process)."""
        size = dimensions or _openai.EMBEDDING_DIMENSIONS.get(model, _openai.DEFAULT_DIMENSIONS)
        return _openai.embedding(text, size)

    def problems(self) -> list[str]:
        """One line per request the fake refused (a drift from the cassette included),
        per scripted reply never requested, and per recorded interaction never requested."""
        found = self._script.problems() + self._ejected_problems
        if self._cassette is not None:
            found += self._cassette.problems(allow_unused=self._script.allow_unused)
        return found

    def verify(self) -> None:
        """Raise :class:`FakeLLMProblems` if :meth:`problems` found any."""
        problems = self.problems()
        if problems:
            raise FakeLLMProblems(problems)

    def reset(self) -> None:
        """Forget the script and the requests; let hanging requests go (with an error);
        eject the cassette (writing it when it recorded)."""
        self.eject_cassette()
        self._ejected_problems.clear()
        self._script.reset()
        self._server.release_hangs()

    # -- ready-made clients ------------------------------------------------------------------------

    def openai_client(self, **options: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` wired to the fake, retries off (``options`` override)."""
        return cast("openai.OpenAI", self._client("openai", "OpenAI", options))

    def async_openai_client(self, **options: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` wired to the fake, retries off."""
        return cast("openai.AsyncOpenAI", self._client("openai", "AsyncOpenAI", options))

    def anthropic_client(self, **options: Any) -> anthropic.Anthropic:
        """An ``anthropic.Anthropic`` wired to the fake, retries off."""
        return cast("anthropic.Anthropic", self._client("anthropic", "Anthropic", options))

    def async_anthropic_client(self, **options: Any) -> anthropic.AsyncAnthropic:
        """An ``anthropic.AsyncAnthropic`` wired to the fake, retries off."""
        client = self._client("anthropic", "AsyncAnthropic", options)
        return cast("anthropic.AsyncAnthropic", client)

    def _client(self, module: str, name: str, options: Mapping[str, Any]) -> Any:
        openai = module == "openai"
        wiring = {
            "base_url": self.openai_base_url if openai else self.anthropic_base_url,
            "api_key": DUMMY_OPENAI_KEY if openai else DUMMY_ANTHROPIC_KEY,
            "max_retries": 0,
            "timeout": CLIENT_TIMEOUT,
        }
        return getattr(require(module), name)(**{**wiring, **options})

    def __repr__(self) -> str:
        where = self.base_url if self.running else "not running"
        return f"<FakeLLM {where}, {len(self.requests)} requests>"
