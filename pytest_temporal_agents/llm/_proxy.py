"""The fake as a proxy: a request it records is sent on to the real provider (the upstream).

The upstream is what the environment named before the fake pointed it at itself:
``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` and ``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_KEY``,
the providers' public URLs by default. The client's own headers go on, except its
credentials (the fake's dummy key), which are replaced by the real key; the answer is read
whole (a stream to its end) and stored; the caller then replays it to the client. This is
the only code of the package that opens a connection beyond 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import require
from ._requests import SECRET_HEADER_PARTS

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com"
#: Seconds a recorded request may take upstream (a long answer, read to its end).
UPSTREAM_TIMEOUT = 600.0
#: Request headers that belong to one connection, or that the HTTP client sets itself.
HOP_HEADERS = ("host", "content-length", "connection", "accept-encoding", "transfer-encoding")

NO_KEY = (
    "recording it needs the real key, but {variable} was not set before the fake pointed the "
    "environment at itself: export {variable} (and {url_variable} for another endpoint) "
    "before running with --llm-record"
)
LOOP = (
    "recording it would send it to the fake itself: {url_variable} was {url!r} before the fake "
    "started; set it to the real endpoint (or unset it for {default})"
)
UNREACHABLE = "recording it failed: the upstream {url} did not answer ({error})"


@dataclass(frozen=True)
class Upstream:
    """Where one provider's recorded requests go.

    Attributes:
        provider: ``"openai"`` or ``"anthropic"``.
        base_url: the base URL, as the provider's client takes it.
        key: the real key, or None (an endpoint that needs none, such as a local server).
    """

    provider: str
    base_url: str
    key: str | None = field(repr=False)  # no repr, traceback or report shows it

    @property
    def variables(self) -> tuple[str, str]:
        """The environment variables of its URL and its key."""
        prefix = self.provider.upper()
        return f"{prefix}_BASE_URL", f"{prefix}_API_KEY"

    @property
    def default(self) -> bool:
        """It is the provider's public endpoint (which always needs a key)."""
        return self.base_url in (OPENAI_DEFAULT_URL, ANTHROPIC_DEFAULT_URL)

    def url(self, path: str, query: str) -> str:
        """The upstream URL of a path the fake was asked for (``/v1/...``): OpenAI base
        URLs end with ``/v1`` already, Anthropic ones do not."""
        tail = path.removeprefix("/v1") if self.provider == "openai" else path
        return self.base_url.rstrip("/") + tail + (f"?{query}" if query else "")

    def headers(self, received: Mapping[str, str]) -> dict[str, str]:
        """The client's headers without its credentials and connection headers, with the
        real key as this provider expects it."""
        sent = {
            name.lower(): value
            for name, value in received.items()
            if name.lower() not in HOP_HEADERS
            and not any(part in name.lower() for part in SECRET_HEADER_PARTS)
        }
        if self.key:
            if self.provider == "openai":
                sent["authorization"] = f"Bearer {self.key}"
            else:
                sent["x-api-key"] = self.key
        return sent

    def problem(self, own_base_url: str) -> str | None:
        """Why a request cannot be recorded through this upstream, or None."""
        url_variable, key_variable = self.variables
        own, url = own_base_url.rstrip("/"), self.base_url.rstrip("/")
        if url == own or url.startswith(f"{own}/"):
            default = OPENAI_DEFAULT_URL if self.provider == "openai" else ANTHROPIC_DEFAULT_URL
            return LOOP.format(url_variable=url_variable, url=self.base_url, default=default)
        if self.key is None and self.default:
            return NO_KEY.format(variable=key_variable, url_variable=url_variable)
        return None


def upstreams(environment: Mapping[str, str | None]) -> dict[str, Upstream]:
    """Each provider's upstream, from environment variables as they were before the fake."""
    found = {}
    for provider, default in (("openai", OPENAI_DEFAULT_URL), ("anthropic", ANTHROPIC_DEFAULT_URL)):
        prefix = provider.upper()
        url = environment.get(f"{prefix}_BASE_URL") or default
        found[provider] = Upstream(provider, url, environment.get(f"{prefix}_API_KEY") or None)
    return found


@dataclass(frozen=True)
class Fetched:
    """An upstream's answer, read whole.

    Attributes:
        status: the HTTP status.
        headers: every response header, lower-cased.
        content: the body, decoded from any content encoding.
    """

    status: int
    headers: dict[str, str]
    content: bytes

    @property
    def is_stream(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")


async def fetch(
    upstream: Upstream, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> Fetched | str:
    """Send the request upstream and read the answer to its end.

    Returns:
        The answer, or a sentence saying why there is none (it names the URL, never a key).
    """
    httpx = require("httpx2")
    url = upstream.url(path, query)
    try:
        async with httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT) as client:
            response: Any = await client.request(
                method, url, headers=upstream.headers(headers), content=body
            )
    except httpx.HTTPError as err:
        return UNREACHABLE.format(url=url, error=f"{type(err).__name__}: {err}")
    return Fetched(
        response.status_code,
        {name.lower(): value for name, value in response.headers.items()},
        response.content,
    )
