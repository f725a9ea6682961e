"""pydantic-ai's Temporal integration in a trajectory: its activities read as the agent's steps.

``pydantic_ai.durable_exec.temporal`` registers activities per agent, named by its
``TemporalOperationNamer`` (names it keeps stable, as in-flight workflows depend on them):

- ``agent__{agent}__model_request`` and ``agent__{agent}__model_request_stream``: the
  model calls;
- ``agent__{agent}__toolset__{toolset}__call_tool`` (``mcp_server``, ... for other kinds of
  toolset): every tool call of one toolset, the tool's name and arguments in the first
  argument (``{"name": "get_price", "tool_args": {...}, "serialized_run_context": ...}``),
  the result wrapped (``{"result": 189.5, "kind": "tool_return"}``);
- bookkeeping that is no step of the agent: listing a toolset's tools or instructions,
  validating arguments, forwarding stream events.

So a tool call is shown under the tool's own name, with its arguments and its result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._traj_steps import MODEL, TOOL

PYDANTIC_AI_MODEL_CALL: Final = re.compile(r"^agent__.+__model_request(?:_stream)?$")
PYDANTIC_AI_TOOL_CALL: Final = re.compile(r"^agent__.+__call_tool$")
PYDANTIC_AI_BOOKKEEPING: Final = re.compile(
    r"^agent__.+__(?:get_tools|get_instructions|validate_args|event_stream_handler"
    r"|model_cancel_suspended_response)$"
)


def pydantic_ai_kind(name: str) -> str | None:
    """``model`` or ``tool`` for pydantic-ai's model and tool activities, else None (its
    bookkeeping included: see :func:`is_pydantic_ai_bookkeeping`)."""
    if PYDANTIC_AI_MODEL_CALL.match(name):
        return MODEL
    if PYDANTIC_AI_TOOL_CALL.match(name):
        return TOOL
    return None


def is_pydantic_ai_bookkeeping(name: str) -> bool:
    return PYDANTIC_AI_BOOKKEEPING.match(name) is not None


def as_tool_call(name: str, args: tuple[Any, ...] | None, result: Any) -> tuple[str, tuple[Any, ...] | None, Any]:
    """A ``call_tool`` activity as the tool it called: its name, ``(tool_args,)``, and the
    tool's own return value; anything else unchanged."""
    if not PYDANTIC_AI_TOOL_CALL.match(name) or not args or not isinstance(args[0], Mapping):
        return name, args, result
    params = args[0]
    tool = params.get("name")
    if not isinstance(tool, str):
        return name, args, result
    if isinstance(result, Mapping) and result.get("kind") == "tool_return":
        result = result.get("result")
    return tool, (params.get("tool_args"),), result
