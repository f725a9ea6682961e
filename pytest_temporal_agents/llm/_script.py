"""The script of one test: a queue of replies, rules that match requests, a responder, and
the record of every request with what it got.

The server thread reads it while the test thread writes it: every access holds one lock.
The order a request is answered in: an armed override that matches it (``_overrides.py``),
then the first rule that matches it and has a reply left, then the queue (chat, responses and messages requests only), then the ``respond_with``
function; a request none of them answers gets an error, and the test fails at teardown.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ._errors import FakeLLMError
from ._replies import Reply, Scripting, Usage, estimate_tokens
from ._requests import GENERATIVE, OPENAI_EMBEDDINGS, LLMRequest

#: What a ``respond_with`` function may return: a reply, text, or None for "no answer".
Responder = Callable[[LLMRequest], Reply | str | None]

#: The values ``when(api=...)`` accepts: a whole API name or its provider.
API_NAMES = ("openai", "anthropic", *GENERATIVE, "openai.embeddings")

UNSCRIPTED = (
    "no reply was scripted for it (it got HTTP 400). Script one before the call: "
    "fake_llm.reply(...), fake_llm.reply_tool_call(...), a rule fake_llm.when(...).reply(...), "
    "or fake_llm.respond_with(function)"
)
UNUSED = "scripted reply never requested: {reply}{where}"
UNUSED_HINT = (
    "(a reply the code never asked for; if that is expected, call fake_llm.allow_unused() "
    "or mark the test @pytest.mark.fake_llm(allow_unused=True))"
)


class Overriding(Protocol):
    """What the script asks an armed override (``_overrides.Override``)."""

    def take(self, request: LLMRequest) -> Reply | None: ...


class Rule(Scripting["Rule"]):
    """Replies for the requests that match, from ``fake_llm.when(...)``.

    Its methods are the fake's (``reply``, ``reply_tool_call``, ``fail``, ...); each adds a
    reply, served in order to the matching requests, one each. A rule with no reply left
    matches nothing, so later requests fall through to the next rule or the queue.
    """

    def __init__(
        self,
        lock: threading.RLock,
        *,
        contains: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        api: str | None = None,
    ) -> None:
        if api is not None and api not in API_NAMES:
            raise FakeLLMError(
                f"when(api={api!r}): unknown API. Valid values: {', '.join(map(repr, API_NAMES))}."
            )
        self._lock = lock
        self.contains, self.model, self.tool, self.api = contains, model, tool, api
        self._replies: deque[Reply] = deque()

    def _add(self, reply: Reply) -> Rule:
        with self._lock:
            self._replies.append(reply)
        return self

    @property
    def pending(self) -> list[Reply]:
        """The replies no request has taken yet."""
        with self._lock:
            return list(self._replies)

    def matches(self, request: LLMRequest) -> bool:
        """Whether every criterion given holds for the request."""
        if request.api not in GENERATIVE and self.api != request.api:
            return False  # embeddings answer themselves unless a rule names their API
        return (
            (self.api is None or request.api == self.api or request.api.startswith(f"{self.api}."))
            and (self.model is None or request.model == self.model)
            and (self.tool is None or self.tool in request.tool_names)
            and (self.contains is None or self.contains in request.last_text)
        )

    def describe(self) -> str:
        criteria = (("contains", self.contains), ("model", self.model), ("tool", self.tool))
        given = ", ".join(f"{k}={v!r}" for k, v in (*criteria, ("api", self.api)) if v is not None)
        return f"when({given})"


def usage_for(request: LLMRequest, reply: Reply) -> Usage:
    """The scripted usage, or one counted from the request's and the answer's text
    (embeddings have no output tokens)."""
    if reply.usage is not None:
        return reply.usage
    if request.api == OPENAI_EMBEDDINGS:
        return Usage(request.input_tokens(), 0)
    return Usage(request.input_tokens(), max(1, estimate_tokens(reply.output_text)))


class Script:
    """The replies, rules and records of one test (reset between tests)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._queue: deque[Reply] = deque()
        self._rules: list[Rule] = []
        self._responder: Responder | None = None
        self._responder_calls = 0
        self._requests: list[LLMRequest] = []
        self._overrides: list[Overriding] = []
        self.allow_unused = False

    def reset(self) -> None:
        """Forget every reply, rule, responder and request."""
        with self.lock:
            self._queue.clear()
            self._rules.clear()
            self._responder, self._responder_calls = None, 0
            self._requests.clear()
            self._overrides.clear()
            self.allow_unused = False

    def enqueue(self, reply: Reply) -> None:
        with self.lock:
            self._queue.append(reply)

    def add_rule(self, rule: Rule) -> Rule:
        with self.lock:
            self._rules.append(rule)
        return rule

    def arm(self, override: Overriding) -> None:
        """Answer matching requests with ``override`` ahead of everything else, until disarmed."""
        with self.lock:
            self._overrides.append(override)

    def disarm(self, override: Overriding) -> None:
        with self.lock:
            if override in self._overrides:
                self._overrides.remove(override)

    def respond_with(self, responder: Responder) -> None:
        if not callable(responder):
            raise FakeLLMError(
                f"respond_with({responder!r}) needs a function of the request that returns a "
                "reply (replies.reply(...), ...), a text, or None for no answer."
            )
        with self.lock:
            self._responder = responder

    @property
    def requests(self) -> list[LLMRequest]:
        with self.lock:
            return list(self._requests)

    def record(self, request: LLMRequest) -> None:
        """Number the request and keep it."""
        with self.lock:
            request.number = len(self._requests) + 1
            self._requests.append(request)

    def choose(self, request: LLMRequest) -> Reply | None:
        """Keep the request (as :meth:`record`) and take its reply from the script, in one
        step under the lock, so that a :meth:`reset` cannot fall between them; None when
        nothing answers it.

        A responder that raises, or returns something that is not a reply, sets the
        request's ``problem`` (and answers nothing).
        """
        with self.lock:
            self.record(request)
            for override in self._overrides:
                taken = override.take(request)
                if taken is not None:
                    return taken
            for rule in self._rules:
                if rule.matches(request) and rule._replies:
                    return rule._replies.popleft()
            if request.api in GENERATIVE and self._queue:
                return self._queue.popleft()
            responder = self._responder if request.api in GENERATIVE else None
            if responder is not None:
                self._responder_calls += 1
        if responder is None:
            return None
        return self._ask(responder, request)

    @staticmethod
    def _ask(responder: Responder, request: LLMRequest) -> Reply | None:
        name = getattr(responder, "__name__", repr(responder))
        try:
            answer = responder(request)
        except Exception as err:  # noqa: BLE001 - reported at teardown, answered as an error
            request.problem = f"respond_with({name}) raised {err!r}"
            return None
        if isinstance(answer, str):
            return Reply("message", text=answer)
        if answer is not None and not isinstance(answer, Reply):
            request.problem = (
                f"respond_with({name}) returned {answer!r}; it must return a reply "
                "(replies.reply(...), replies.fail(...), ...), a text, or None"
            )
            return None
        return answer

    def problems(self) -> list[str]:
        """One line per request the fake refused, then per reply nobody asked for."""
        with self.lock:
            found = [f"{r.describe()}: {r.problem}" for r in self._requests if r.problem]
            if self.allow_unused:
                return found
            unused = [UNUSED.format(reply=reply.describe(), where="") for reply in self._queue]
            for rule in self._rules:
                where = f" (rule {rule.describe()})"
                unused += [UNUSED.format(reply=r.describe(), where=where) for r in rule._replies]
            if self._responder is not None and not self._responder_calls:
                name = getattr(self._responder, "__name__", repr(self._responder))
                unused.append(f"respond_with({name}) was never called: no request reached it")
        if unused:
            unused[-1] += f" {UNUSED_HINT}"
        return found + unused
