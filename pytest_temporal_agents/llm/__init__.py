"""The fake model server: a real HTTP server that answers as OpenAI and Anthropic do, from a
script, so agent code that calls a model runs in tests with no network and no code change.

``FakeLLM`` serves OpenAI chat completions, responses, embeddings and models and Anthropic
messages (streamed and not) on 127.0.0.1; the ``fake_llm`` fixture gives each test one,
with the environment pointing the official clients at it. Replies are scripted in one
neutral form (``reply``, ``reply_tool_call``, ``fail``, ``hang``, ...) rendered per API;
every request is recorded with its usage, ``llm_budget`` limits what a test spends, and a :class:`Trajectory` reads what an agent
did from its workflow's history. A cassette (``use_cassette``, ``llm_cassette``) records real
traffic once, through the fake acting as a proxy, and replays it. Importing this package imports none of
its modules (names load on first use) nor starlette, uvicorn, openai or anthropic: starting
the server does.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._budget import Budget, budget_problems, read_budget, usage_table
    from ._cassette import Cassette, CassetteError, Interaction
    from ._cassette_play import CassettePlayer
    from ._errors import INSTALL_EXTRA, FakeLLMError, FakeLLMProblems, LLMExtraMissing
    from ._fake import DUMMY_ANTHROPIC_KEY, DUMMY_OPENAI_KEY, FakeLLM
    from ._options import (
        BUDGET_SIGNATURE,
        CASSETTE_SIGNATURE,
        MARKER_SIGNATURE,
        RECORD_FLAG,
        RECORD_HELP,
        RECORD_MODES,
        RECORD_OPTION,
        CassetteMarker,
        FakeLLMMarker,
        cassette_path,
        read_cassette_marker,
        read_markers,
        resolve_record_mode,
    )
    from ._overrides import Override
    from ._render import DEFAULT_MODELS
    from ._replies import Replies, Reply, ToolCall, Usage, estimate_tokens, replies
    from ._requests import LLMRequest
    from ._script import Rule
    from ._trajectory import (
        AGENTS_SDK_MODEL_ACTIVITIES,
        MODEL_NAME_PATTERN,
        Step,
        Trajectory,
        TrajectoryAssertionError,
        trajectory,
        trajectory_of,
    )

# Every name on first use: the plugin reads the option, the markers' signatures and the
# record mode (``_options``) while pytest configures every run; the fake itself, its
# cassettes and trajectories (which read histories with temporalio) load when a test uses them.
__getattr__ = lazy_names(
    __name__,
    {
        "._budget": "Budget budget_problems read_budget usage_table",
        "._cassette": "Cassette CassetteError Interaction",
        "._cassette_play": "CassettePlayer",
        "._errors": "INSTALL_EXTRA FakeLLMError FakeLLMProblems LLMExtraMissing",
        "._fake": "DUMMY_ANTHROPIC_KEY DUMMY_OPENAI_KEY FakeLLM",
        "._options": "BUDGET_SIGNATURE CASSETTE_SIGNATURE MARKER_SIGNATURE RECORD_FLAG RECORD_HELP RECORD_MODES "
        "RECORD_OPTION CassetteMarker FakeLLMMarker cassette_path read_cassette_marker "
        "read_markers resolve_record_mode",
        "._overrides": "Override",
        "._render": "DEFAULT_MODELS",
        "._replies": "Replies Reply ToolCall Usage estimate_tokens replies",
        "._requests": "LLMRequest",
        "._script": "Rule",
        "._trajectory": "AGENTS_SDK_MODEL_ACTIVITIES MODEL_NAME_PATTERN Step Trajectory "
        "TrajectoryAssertionError trajectory trajectory_of",
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
