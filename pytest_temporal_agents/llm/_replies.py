"""The neutral form of a model's answer, and the one vocabulary that scripts it.

A :class:`Reply` says what the model answers (text, tool calls, usage) or how the call goes
wrong (an HTTP error, no answer, a cut connection) without naming any API: each API's
renderer turns it into that API's JSON or event stream. The methods that build replies
(``reply``, ``reply_tool_call``, ``fail``, ...) live once, in :class:`Scripting`; the fake's
queue, its rules and :data:`replies` differ only in what they do with the reply built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, Literal, TypeVar

from ._errors import FakeLLMError

T = TypeVar("T")

#: What a truncated answer says before the connection is cut, unless told otherwise.
TRUNCATED_TEXT = "This answer is cut off in the middle of a sentence because the connection"
#: The arguments of a malformed tool call, unless told otherwise: a Python dict, not JSON
#: (single quotes), which no JSON parser accepts, not even a lenient streaming one.
MALFORMED_ARGUMENTS = "{'query': 'AAPL'}"
#: Reason phrases of statuses the standard library does not name.
EXTRA_PHRASES = {529: "Overloaded"}

_TOKEN = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """A deterministic token count: one per word and one per punctuation mark.

    Close enough to real tokenizers for budgets, and the same in every run and process.
    """
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class Usage:
    """Tokens one model call spent.

    Attributes:
        input_tokens: tokens of the request (prompt, messages, tools).
        output_tokens: tokens of the answer.
    """

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """``input_tokens + output_tokens``."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class ToolCall:
    """One tool call in a reply.

    Attributes:
        name: the tool's name.
        arguments: the arguments (rendered as JSON), or, for a malformed call, the raw text
            the model sends instead of JSON.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)

    @property
    def malformed(self) -> bool:
        """The arguments are raw text that is not a JSON object."""
        return isinstance(self.arguments, str)

    @property
    def arguments_json(self) -> str:
        """The arguments as the model writes them."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(", ", ": "))


ReplyKind = Literal["message", "failure", "hang", "truncated"]


@dataclass(frozen=True)
class Reply:
    """A scripted answer, in no API's form.

    Attributes:
        kind: ``"message"`` (text and/or tool calls), ``"failure"`` (an HTTP error),
            ``"hang"`` (no answer) or ``"truncated"`` (an answer cut off mid-way).
        text: the assistant's text, if any.
        tool_calls: the tool calls, in order.
        usage: tokens to report; None computes them from the request and the answer.
        status: the HTTP status of a failure.
        retry_after: seconds a failure asks the client to wait (the Retry-After header).
        message: the error message of a failure.
    """

    kind: ReplyKind
    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None

    @property
    def output_text(self) -> str:
        """What the answer's output tokens are counted from."""
        calls = " ".join(f"{call.name} {call.arguments_json}" for call in self.tool_calls)
        return " ".join(part for part in (self.text, calls) if part)

    def describe(self) -> str:
        """The reply as the call that scripted it, for messages."""
        if self.kind == "failure":
            extra = f", retry_after={self.retry_after!r}" if self.retry_after is not None else ""
            return f"fail({self.status}{extra})"
        if self.kind in ("hang", "truncated"):
            return f"{self.kind}()"
        if any(call.malformed for call in self.tool_calls):
            return f"malformed_tool_call({self.tool_calls[0].name!r})"
        calls = ", ".join(f"({c.name!r}, {c.arguments!r})" for c in self.tool_calls)
        if len(self.tool_calls) > 1:
            return f"reply_tool_calls({calls})"
        if self.tool_calls:
            return f"reply_tool_call{calls}"
        return f"reply({_short(self.text or '')!r})"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Scripting(Generic[T]):
    """The scripting vocabulary: each method builds one :class:`Reply` and hands it on.

    ``FakeLLM`` queues it, a rule from ``when(...)`` keeps it for the requests it matches,
    and :data:`replies` returns it (for ``respond_with`` functions).
    """

    def _add(self, reply: Reply) -> T:
        raise NotImplementedError

    def reply(self, text: str, *, usage: Usage | None = None) -> T:
        """Answer with text.

        Args:
            text: the assistant's text.
            usage: the tokens to report; by default counted from the request and the text.
        """
        return self._add(Reply("message", text=text, usage=usage))

    def reply_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        text: str | None = None,
        usage: Usage | None = None,
    ) -> T:
        """Answer with one tool call.

        Args:
            name: the tool to call.
            arguments: its arguments (a JSON object); none by default.
            text: text the assistant says before the call, if any.
            usage: the tokens to report; by default counted.
        """
        return self.reply_tool_calls((name, arguments or {}), text=text, usage=usage)

    def reply_tool_calls(
        self,
        *calls: tuple[str, Mapping[str, Any]],
        text: str | None = None,
        usage: Usage | None = None,
    ) -> T:
        """Answer with several tool calls in one turn (parallel tool calls).

        Args:
            *calls: ``(name, arguments)`` pairs, in order.
            text: text the assistant says before the calls, if any.
            usage: the tokens to report; by default counted.

        Raises:
            FakeLLMError: no call was given, or a call is not a (name, arguments) pair.
        """
        if not calls:
            raise FakeLLMError(
                "reply_tool_calls() needs at least one (name, arguments) pair, such as "
                "reply_tool_calls(('get_price', {'symbol': 'AAPL'}))."
            )
        built = []
        for call in calls:
            if not (isinstance(call, tuple) and len(call) == 2 and isinstance(call[0], str)):
                raise FakeLLMError(
                    f"reply_tool_calls() got {call!r}: each call is a (name, arguments) pair "
                    "such as ('get_price', {'symbol': 'AAPL'})."
                )
            if not isinstance(call[1], Mapping):
                raise FakeLLMError(
                    f"The arguments of tool call {call[0]!r} must be a mapping (a JSON object), "
                    f"not {call[1]!r}; for arguments that are not JSON use malformed_tool_call()."
                )
            built.append(ToolCall(call[0], dict(call[1])))
        return self._add(Reply("message", text=text, tool_calls=tuple(built), usage=usage))

    def fail(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> T:
        """Answer with an HTTP error in the API's own error format.

        The clients raise their own exception for it (429: ``RateLimitError``, 500:
        ``InternalServerError``, ...), and retry it as they would a real one.

        Args:
            status: an HTTP error status, 400 to 599.
            retry_after: seconds to ask the client to wait (the ``retry-after`` header).
            message: the error message; by default one that names the status.

        Raises:
            FakeLLMError: the status is not an HTTP error, or retry_after is negative.
        """
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise FakeLLMError(
                f"fail({status!r}): the status must be an HTTP error status from 400 to 599, "
                "such as 429 (rate limited), 500 or 503."
            )
        if retry_after is not None and not retry_after >= 0:
            raise FakeLLMError(f"fail({status}, retry_after={retry_after!r}): seconds >= 0.")
        if message is None:
            phrase = EXTRA_PHRASES.get(status) or _phrase(status)
            message = f"{phrase} (scripted with fake_llm.fail({status}))"
        return self._add(Reply("failure", status=status, retry_after=retry_after, message=message))

    def hang(self) -> T:
        """Never answer: the client's timeout (or an activity's start-to-close timeout)
        must fire. The request is let go, with an error, when the test ends."""
        return self._add(Reply("hang"))

    def truncated(self, text: str = TRUNCATED_TEXT, *, usage: Usage | None = None) -> T:
        """Start answering, then cut the connection mid-way.

        A stream stops after part of its events; a plain response stops part-way through
        its body. The clients raise their connection error.

        Args:
            text: the answer that is cut off.
            usage: the tokens to record; by default counted.
        """
        return self._add(Reply("truncated", text=text, usage=usage))

    def malformed_tool_call(
        self, name: str, arguments: str = MALFORMED_ARGUMENTS, *, usage: Usage | None = None
    ) -> T:
        """Answer with a call of tool ``name`` whose arguments are not JSON.

        Args:
            name: the tool to call.
            arguments: the raw text sent as arguments (by default JSON that stops short).
            usage: the tokens to report; by default counted.
        """
        return self._add(Reply("message", tool_calls=(ToolCall(name, arguments),), usage=usage))


class Replies(Scripting[Reply]):
    """The scripting methods as plain constructors: each returns the :class:`Reply`.

    For functions given to ``fake_llm.respond_with``::

        fake_llm.respond_with(lambda request: replies.reply_tool_call("search", {"q": "x"}))
    """

    def _add(self, reply: Reply) -> Reply:
        return reply


#: Builds replies for ``respond_with`` functions: ``replies.reply("...")``, ``replies.fail(429)``.
replies = Replies()
