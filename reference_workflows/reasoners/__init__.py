"""Reasoners backed by language models, and the choice among them.

``OpenAIReasoner`` (any OpenAI-compatible chat completions API, local model servers included)
and ``AnthropicReasoner`` implement ``reference_workflows.agents.Reasoner``: the prompt from
the agents' context, the answer as JSON, rebuilt and checked (``answers``). The agents'
guardrails hold for them as for the rule-based reasoner. ``choose_reasoner`` is what
``trading-agents --reasoner`` uses.

Importing this package imports neither ``openai`` nor ``anthropic``: building a reasoner
does, and names the ``[llm]`` extra when it is missing.
"""

from __future__ import annotations

from .answers import (
    DECISION_SCHEMA,
    MALFORMED_MODEL_ANSWER,
    PLAN_SCHEMA,
    SYSTEM_PROMPT,
    MalformedAnswerError,
    ModelReasoner,
    context_json,
)
from .anthropic_reasoner import DEFAULT_ANTHROPIC_MODEL, AnthropicReasoner
from .choice import (
    MODEL_ENV,
    REASONER_CHOICES,
    ReasonerChoice,
    ReasonerChoiceError,
    choose_reasoner,
    resolve_kind,
)
from .extras import ExtraMissingError, require
from .openai_reasoner import DEFAULT_OPENAI_MODEL, OpenAIReasoner

__all__ = [
    "DECISION_SCHEMA",
    "DEFAULT_ANTHROPIC_MODEL",
    "DEFAULT_OPENAI_MODEL",
    "MALFORMED_MODEL_ANSWER",
    "MODEL_ENV",
    "PLAN_SCHEMA",
    "REASONER_CHOICES",
    "SYSTEM_PROMPT",
    "AnthropicReasoner",
    "ExtraMissingError",
    "MalformedAnswerError",
    "ModelReasoner",
    "OpenAIReasoner",
    "ReasonerChoice",
    "ReasonerChoiceError",
    "choose_reasoner",
    "context_json",
    "require",
    "resolve_kind",
]
