"""The analyst's model provider: OpenAI chat completions, with one client per event loop.

The Agents SDK's ``OpenAIProvider`` shares one module-level HTTP connection pool across every
client it makes, bound to the event loop that first used it. A worker process with one loop
(the ``trading-agents`` CLI) never notices; a test suite runs each test on a loop of its own,
and the second test's first model call fails with "Event loop is closed" (then passes on
Temporal's retry, which hides it). So this provider gives each running loop its own client
and pool. Imported by ``analyst.analyst_plugin`` only: it needs the ``[agents]`` extra.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from agents.models.interface import Model, ModelProvider
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from .reasoners.openai_reasoner import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, LOCAL_SERVER_KEY


class PerLoopChatProvider(ModelProvider):
    """Chat completions models (``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` from the environment;
    a base URL without a key gets a placeholder, as local servers need none), each event loop
    with its own ``AsyncOpenAI`` client. ``max_retries`` is 0: the plugin's model activity is
    retried by Temporal."""

    def __init__(self) -> None:
        self._providers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OpenAIProvider]
        self._providers = weakref.WeakKeyDictionary()

    def get_model(self, model_name: str | None) -> Model:
        loop = asyncio.get_running_loop()
        provider = self._providers.get(loop)
        if provider is None:
            base_url = os.environ.get("OPENAI_BASE_URL") or None
            key = os.environ.get("OPENAI_API_KEY") or (LOCAL_SERVER_KEY if base_url else None)
            client = AsyncOpenAI(
                api_key=key,
                base_url=base_url,
                timeout=DEFAULT_TIMEOUT,
                max_retries=DEFAULT_MAX_RETRIES,
                http_client=DefaultAsyncHttpxClient(),
            )
            provider = OpenAIProvider(openai_client=client, use_responses=False)
            self._providers[loop] = provider
        return provider.get_model(model_name)
