"""The fake model server: a real HTTP server that answers as OpenAI and Anthropic do, from a
script, so agent code that calls a model runs in tests with no network and no code change.

``FakeLLM`` serves OpenAI chat completions, responses, embeddings and models and Anthropic
messages (streamed and not) on 127.0.0.1; the ``fake_llm`` fixture gives each test one,
with the environment pointing the official clients at it. Replies are scripted in one
neutral form (``reply``, ``reply_tool_call``, ``fail``, ``hang``, ...) rendered per API;
every request is recorded with its usage, ``llm_budget`` limits what a test spends, and a :class:`Trajectory` reads what an agent
did from its workflow's history. A cassette (``use_cassette``, ``llm_cassette``) records real
traffic once, through the fake acting as a proxy, and replays it. Importing this package imports none of
starlette, uvicorn, openai or anthropic: starting the server does.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._cassette import Cassette, CassetteError, Interaction
from ._cassette_play import RECORD_MODES, CassettePlayer
from ._budget import BUDGET_SIGNATURE, Budget, budget_problems, read_budget, usage_table
from ._errors import INSTALL_EXTRA, FakeLLMError, FakeLLMProblems, LLMExtraMissing
from ._fake import DUMMY_ANTHROPIC_KEY, DUMMY_OPENAI_KEY, FakeLLM
from ._options import MARKER_SIGNATURE, FakeLLMMarker, read_markers
from ._overrides import Override
from ._options import (
    CASSETTE_SIGNATURE,
    RECORD_FLAG,
    RECORD_HELP,
    RECORD_OPTION,
    CassetteMarker,
    cassette_path,
    read_cassette_marker,
    resolve_record_mode,
)
from ._render import DEFAULT_MODELS
from ._replies import Replies, Reply, ToolCall, Usage, estimate_tokens, replies
from ._requests import LLMRequest
from ._script import Rule

if TYPE_CHECKING:
    from ._trajectory import (
        AGENTS_SDK_MODEL_ACTIVITIES,
        MODEL_NAME_PATTERN,
        Step,
        Trajectory,
        TrajectoryAssertionError,
        trajectory,
        trajectory_of,
    )

# Trajectories read histories (temporalio); the plugin imports this package while pytest
# configures, so they load on first use.
__getattr__ = lazy_names(
    __name__,
    {
        "._trajectory": "AGENTS_SDK_MODEL_ACTIVITIES MODEL_NAME_PATTERN Step Trajectory "
        "TrajectoryAssertionError trajectory trajectory_of"
    },
)

__all__ = [
    "AGENTS_SDK_MODEL_ACTIVITIES",
    "MODEL_NAME_PATTERN",
    "BUDGET_SIGNATURE",
    "DEFAULT_MODELS",
    "DUMMY_ANTHROPIC_KEY",
    "DUMMY_OPENAI_KEY",
    "Budget",
    "INSTALL_EXTRA",
    "MARKER_SIGNATURE",
    "FakeLLM",
    "FakeLLMError",
    "FakeLLMMarker",
    "FakeLLMProblems",
    "LLMExtraMissing",
    "LLMRequest",
    "Override",
    "Replies",
    "Reply",
    "Rule",
    "Step",
    "ToolCall",
    "Trajectory",
    "TrajectoryAssertionError",
    "Usage",
    "budget_problems",
    "estimate_tokens",
    "read_budget",
    "read_markers",
    "replies",
    "trajectory",
    "trajectory_of",
    "usage_table",
    # cassettes
    "CASSETTE_SIGNATURE",
    "RECORD_FLAG",
    "RECORD_HELP",
    "RECORD_MODES",
    "RECORD_OPTION",
    "Cassette",
    "CassetteError",
    "CassetteMarker",
    "CassettePlayer",
    "Interaction",
    "cassette_path",
    "read_cassette_marker",
    "resolve_record_mode",
]
