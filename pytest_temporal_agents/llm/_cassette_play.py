"""A cassette in use: answer requests from it, record the ones it lacks, write it back.

Record modes (``--llm-record``, ``record=``):

- ``none`` (the default, for CI): replay only. A request no interaction matches gets an
  error, and the test fails showing what drifted from the interaction expected next.
- ``new``: replay what matches; send what does not to the real provider and append it.
- ``all``: send every request to the real provider; the file is rewritten.

Replay takes, per API, the first interaction not yet used whose request matches (so
concurrent calls may come in any order); recording is the only path to the network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from typing_extensions import Self

from ._cassette import KEPT_RESPONSE_HEADERS, Cassette, CassetteError, Interaction, parse_events
from ._cassette_match import drift, matches, recorded_usage
from ._errors import FakeLLMError
from ._options import RECORD_MODES
from ._proxy import Upstream, fetch
from ._requests import LLMRequest

MISSING = """\
The cassette {path} does not exist, and the record mode is 'none' (replay only).
Record it once with the real keys in the environment: pytest --llm-record=new (see
docs/how-to/cassettes.md), review the file, and commit it."""
BAD_MODE = "record={mode!r} is not a record mode. Valid modes: {modes}."
NOTHING_LEFT = (
    "the cassette {path} has no interaction left for it ({count} recorded for {api}, all "
    "used); record it with --llm-record=new, or re-record the cassette with --llm-record=all"
)
REPLAY_ONLY = (
    "\n  The record mode is 'none' (replay only). If the change is intended, re-record with "
    "--llm-record=all and review the cassette's diff."
)
REFUSED = (
    "recording it failed: the upstream {url} refused the key (HTTP {status}); check "
    "{variable}. Nothing was recorded (its error message may quote part of the key)"
)
UNUSED = (
    "cassette {path}: {interaction} was never requested (the code made fewer model calls than "
    "were recorded, or other ones; re-record with --llm-record=all, or allow unused replies)"
)


@dataclass(frozen=True)
class RawRequest:
    """A request as it came, for sending on: method, path, query, headers, body."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def check_mode(mode: str) -> str:
    """The record mode, or :class:`FakeLLMError` listing the valid ones."""
    if mode not in RECORD_MODES:
        raise FakeLLMError(BAD_MODE.format(mode=mode, modes=", ".join(RECORD_MODES)))
    return mode


class CassettePlayer:
    """A cassette attached to a fake: what ``fake_llm.use_cassette(...)`` returns.

    Leaving ``with fake.use_cassette(path):`` ejects it (writing it when it recorded).

    Attributes:
        path: the cassette file.
        mode: ``"none"``, ``"new"`` or ``"all"``.
        cassette: the interactions (those recorded in this run included).
    """

    def __init__(
        self,
        path: Path,
        mode: str,
        upstreams: Mapping[str, Upstream],
        *,
        own_url: str,
        eject: Callable[[], None] | None = None,
    ) -> None:
        self.path, self.mode = Path(path), check_mode(mode)
        if mode == "all" or (mode == "new" and not self.path.exists()):
            self.cassette = Cassette(self.path)  # recorded afresh
        elif not self.path.exists():
            raise CassetteError(MISSING.format(path=self.path))
        else:
            self.cassette = Cassette.load(self.path)
        self._upstreams, self._own_url, self._eject = dict(upstreams), own_url, eject
        self._lock = threading.Lock()
        #: Per interaction: "fresh", "used", "blamed" (a request drifted from it),
        #: or "pending" (being recorded).
        self._states = ["fresh"] * len(self.cassette.interactions)
        self._recorded = 0

    def _secrets(self) -> list[str]:
        """The upstream keys: never written."""
        return [u.key for u in self._upstreams.values() if u.key]

    # -- answering (in the server's event loop) ------------------------------------------------

    async def answer(self, request: LLMRequest, raw: RawRequest) -> Interaction | None:
        """The interaction that answers the request (replayed or just recorded), its usage
        and status set on the request; None with the request's ``problem`` set when none."""
        found = self._take(request)
        if found is not None:
            return self._serve(found, request)
        if self.mode == "none":
            request.problem = self._why_not(request)
            return None
        return await self._record(request, raw)

    def _take(self, request: LLMRequest) -> Interaction | None:
        with self._lock:
            for index, interaction in enumerate(self.cassette.interactions):
                if self._states[index] == "fresh" and matches(interaction, request):
                    self._states[index] = "used"
                    return interaction
        return None

    def _why_not(self, request: LLMRequest) -> str:
        with self._lock:
            same_api = [
                (index, interaction)
                for index, interaction in enumerate(self.cassette.interactions)
                if interaction.api == request.api
            ]
            for index, interaction in same_api:
                if self._states[index] == "fresh":
                    self._states[index] = "blamed"
                    return drift(interaction, index + 1, request) + REPLAY_ONLY
        return NOTHING_LEFT.format(path=self.path, count=len(same_api), api=request.api)

    @staticmethod
    def _serve(interaction: Interaction, request: LLMRequest) -> Interaction:
        request.status = interaction.status
        request.usage = interaction.usage if interaction.status < 400 else None
        return interaction

    async def _record(self, request: LLMRequest, raw: RawRequest) -> Interaction | None:
        provider = "anthropic" if request.api.startswith("anthropic") else "openai"
        upstream = self._upstreams[provider]
        problem = upstream.problem(self._own_url)
        if problem is not None:
            request.problem = problem
            return None
        interaction = Interaction.asked(request)
        with self._lock:  # its place is the order the requests came in, not the answers
            self.cassette.interactions.append(interaction)
            self._states.append("pending")
        fetched = await fetch(upstream, raw.method, raw.path, raw.query, raw.headers, raw.body)
        if not isinstance(fetched, str) and fetched.status in (401, 403):
            url, variable = upstream.url(raw.path, raw.query), upstream.variables[1]
            fetched = REFUSED.format(url=url, status=fetched.status, variable=variable)
        with self._lock:
            index = next(i for i, x in enumerate(self.cassette.interactions) if x is interaction)
            if isinstance(fetched, str):
                del self.cassette.interactions[index], self._states[index]
                request.problem = fetched
                return None
            self._states[index] = "used"
            self._recorded += 1
        interaction.status = fetched.status
        interaction.headers = {
            k: fetched.headers[k] for k in KEPT_RESPONSE_HEADERS if k in fetched.headers
        }
        text = fetched.content.decode("utf-8", errors="replace")
        if fetched.is_stream:
            interaction.events = parse_events(text)
        else:
            interaction.body = _json_or_text(text)
        interaction.usage, interaction.estimated = recorded_usage(interaction, request)
        return self._serve(interaction, request)

    # -- after the test --------------------------------------------------------------------------

    def problems(self, *, allow_unused: bool = False) -> list[str]:
        """One line per recorded interaction no request took (unless allowed)."""
        if allow_unused:
            return []
        with self._lock:
            return [
                UNUSED.format(path=self.path, interaction=interaction.describe(index + 1))
                for index, interaction in enumerate(self.cassette.interactions)
                if self._states[index] == "fresh"
            ]

    def save(self) -> bool:
        """Write the cassette when this run recorded into it (always in mode ``all``).

        Returns:
            Whether the file was written.
        """
        with self._lock:
            if self.mode == "none" or (self.mode == "new" and not self._recorded):
                return False
            self.cassette.interactions = [
                x
                for x, state in zip(self.cassette.interactions, self._states)
                if state != "pending"
            ]
            self._states = [s for s in self._states if s != "pending"]
            self.cassette.save(self._secrets())
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._eject is not None:
            self._eject()
        else:
            self.save()

    def __repr__(self) -> str:
        count = len(self.cassette.interactions)
        return f"<CassettePlayer {str(self.path)!r} record={self.mode!r}, {count} interactions>"


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
