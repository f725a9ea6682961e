"""The servers API outside pytest's fixtures: find a binary, start a server, stop it."""

import asyncio

from pytest_temporal_agents.servers import (
    ServerConfig,
    find_binary,
    quiet_runtime,
    start_environment,
    stop_environment,
)


async def server_time() -> str:
    env = await start_environment(ServerConfig(env="time-skipping"), quiet_runtime())
    try:
        return (await env.get_current_time()).isoformat()
    finally:
        await stop_environment(env)


def test_the_installed_binaries_are_found() -> None:
    assert find_binary("time-skipping").name.startswith("temporal-test-server")
    assert find_binary("local").name.startswith("temporal")


def test_a_script_starts_and_stops_a_server() -> None:
    assert asyncio.run(server_time())
