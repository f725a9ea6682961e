"""Overrides: a reply served ahead of the whole script, for as long as someone holds it.

The script answers requests in the order the test wrote it. An override answers out of
that order: while it is armed, every request it matches gets its reply first, and the
queue, the rules and the responder are left for the requests that come after it. It is how
the fault API's model faults make the model fail during one activity attempt (the test's
own script then answers the other attempts), and a test can hold one itself::

    with fake_llm.override(replies.fail(503)):
        ...  # every model request made here gets a 503

The server cannot tell who sent a request, so an override matches requests by what they
say (``contains``, ``model``, ``tool``, ``api``), never by their sender.
"""

from __future__ import annotations

from types import TracebackType

from typing_extensions import Self

from ._errors import FakeLLMError
from ._replies import Reply
from ._requests import LLMRequest
from ._script import Rule, Script

BAD_TIMES = (
    "override(..., times={times!r}): give how many requests it answers (>= 1), or None for all."
)


class Override:
    """A reply for the matching requests, served ahead of the script until :meth:`close`.

    Made by :meth:`FakeLLM.override`. A context manager: leaving the block closes it.

    Attributes:
        reply: what each matching request gets.
        times: how many requests it answers at most (None: every one while armed).
    """

    def __init__(self, script: Script, reply: Reply, matcher: Rule, times: int | None) -> None:
        if not isinstance(reply, Reply):
            raise FakeLLMError(
                f"override({reply!r}) needs a reply built with replies (replies.fail(429), "
                "replies.hang(), replies.truncated(), ...)."
            )
        if times is not None and (
            not isinstance(times, int) or isinstance(times, bool) or times < 1
        ):
            raise FakeLLMError(BAD_TIMES.format(times=times))
        self._script = script
        self._lock = script.lock
        self.reply = reply
        self.times = times
        self._matcher = matcher
        self._served: list[LLMRequest] = []
        self.closed = False

    def take(self, request: LLMRequest) -> Reply | None:
        """The reply for ``request`` if this override answers it (called under the script's lock)."""
        if self.closed or (self.times is not None and len(self._served) >= self.times):
            return None
        if not self._matcher.matches(request):
            return None
        self._served.append(request)
        return self.reply

    @property
    def served(self) -> list[LLMRequest]:
        """The requests it answered, in order."""
        with self._lock:
            return list(self._served)

    def close(self) -> list[LLMRequest]:
        """Stop answering (later requests go to the script); return the requests it answered."""
        with self._lock:
            self.closed = True
            self._script.disarm(self)
            return list(self._served)

    def describe(self) -> str:
        """``override(fail(429), when(contains='AAPL'))``, for messages."""
        criteria = self._matcher.describe()
        times = f", times={self.times}" if self.times is not None else ""
        where = f", {criteria}" if criteria != "when()" else ""
        return f"override({self.reply.describe()}{where}{times})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "armed"
        return f"<{self.describe()} {state}, {len(self.served)} served>"
