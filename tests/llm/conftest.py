"""The fake model server's tests: real clients, sync and async, wired to ``fake_llm``."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import pytest
from llm_clients import Client

from pytest_temporal_agents.llm import FakeLLM


async def _client(fake: FakeLLM, factory: str, is_async: bool) -> AsyncIterator[Client]:
    client = getattr(fake, f"async_{factory}" if is_async else factory)()
    try:
        yield Client(client, is_async)
    finally:
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing


@pytest.fixture(params=["sync", "async"])
async def openai_api(fake_llm: FakeLLM, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """``fake_llm.openai_client()`` or ``fake_llm.async_openai_client()``."""
    async for client in _client(fake_llm, "openai_client", request.param == "async"):
        yield client


@pytest.fixture(params=["sync", "async"])
async def anthropic_api(fake_llm: FakeLLM, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """``fake_llm.anthropic_client()`` or ``fake_llm.async_anthropic_client()``."""
    async for client in _client(fake_llm, "anthropic_client", request.param == "async"):
        yield client
