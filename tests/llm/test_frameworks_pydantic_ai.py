"""pydantic-ai's activities in a trajectory: model calls, tool calls by the tool's name, no
bookkeeping. (The whole agent under Temporal is docs/examples/test_pydantic_ai.py.)"""

from __future__ import annotations

from pytest_temporal_agents.llm import MODEL_NAME_PATTERN
from pytest_temporal_agents.llm._traj_build import Classifier
from pytest_temporal_agents.llm._traj_pydantic_ai import as_tool_call

# An agent whose name says "model": detection by the name pattern alone would call its
# tool calls model calls.
AGENT = "agent__model_agent"


def test_model_requests_are_model_calls_and_tool_calls_are_tools() -> None:
    detect = Classifier.of(None, MODEL_NAME_PATTERN, ())
    assert detect.kind(f"{AGENT}__model_request", "activity") == "model"
    assert detect.kind(f"{AGENT}__model_request_stream", "activity") == "model"
    assert detect.kind(f"{AGENT}__toolset__<agent>__call_tool", "activity") == "tool"
    assert detect.kind(f"{AGENT}__mcp_server__github__call_tool", "activity") == "tool"
    without_pattern = Classifier.of(None, None, ())
    assert without_pattern.kind(f"{AGENT}__model_request", "activity") == "model"


def test_bookkeeping_is_no_step() -> None:
    detect = Classifier.of(None, MODEL_NAME_PATTERN, ())
    for operation in ("mcp_server__github__get_tools", "toolset__<agent>__validate_args", "event_stream_handler"):
        assert detect.kind(f"{AGENT}__{operation}", "activity") is None


def test_named_model_activities_still_decide() -> None:
    named = Classifier.of([f"{AGENT}__toolset__<agent>__call_tool"], None, ())
    assert named.kind(f"{AGENT}__toolset__<agent>__call_tool", "activity") == "model"
    assert named.kind(f"{AGENT}__model_request", "activity") == "tool"


def test_a_tool_call_is_shown_as_the_tool() -> None:
    params = {"name": "get_price", "tool_args": {"symbol": "AAPL"}, "serialized_run_context": {}}
    returned = {"result": 189.5, "kind": "tool_return"}
    assert as_tool_call(f"{AGENT}__toolset__<agent>__call_tool", (params,), returned) == (
        "get_price",
        ({"symbol": "AAPL"},),
        189.5,
    )
    retry = {"kind": "retry_prompt", "message": "bad symbol"}  # not a return: kept whole
    assert as_tool_call(f"{AGENT}__toolset__<agent>__call_tool", (params,), retry)[2] == retry
    assert as_tool_call("get_price", ("AAPL",), 1.0) == ("get_price", ("AAPL",), 1.0)
    assert as_tool_call(f"{AGENT}__toolset__x__call_tool", None, None)[0].endswith("call_tool")
