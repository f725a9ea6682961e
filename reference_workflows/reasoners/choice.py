"""Which reasoner a command uses: ``--reasoner {auto,rule-based,openai,anthropic}`` and ``--model``.

``auto`` takes a model when the environment offers one, in this order: an OpenAI key or an
OpenAI-compatible base URL (a local model server counts), then an Anthropic key; otherwise the
rule-based reasoner, which needs nothing. The choice is described in one line for the console;
the line names the model and the base URL, never a key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..agents import Reasoner, RuleBasedReasoner

AUTO, RULE_BASED, OPENAI, ANTHROPIC = "auto", "rule-based", "openai", "anthropic"
REASONER_CHOICES = (AUTO, RULE_BASED, OPENAI, ANTHROPIC)
MODEL_ENV = "TRADING_AGENTS_MODEL"
"""The model name when ``--model`` is not given (each provider has its default otherwise)."""

UNKNOWN_REASONER = "unknown reasoner {value!r}; choose one of: {choices}"
NO_OPENAI = (
    "--reasoner openai needs OPENAI_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible "
    "server (a local one such as Ollama: OPENAI_BASE_URL=http://localhost:11434/v1); set one"
)
NO_ANTHROPIC = "--reasoner anthropic needs ANTHROPIC_API_KEY; set it, or pick another --reasoner"
MODEL_WITHOUT_MODEL_REASONER = (
    "--model {model!r} names a model, but the reasoner is rule-based (no model key or base URL "
    "in the environment); set OPENAI_API_KEY, OPENAI_BASE_URL or ANTHROPIC_API_KEY, or drop --model"
)


class ReasonerChoiceError(ValueError):
    """The reasoner asked for cannot be built here; the message is one line that says why."""


@dataclass(frozen=True)
class ReasonerChoice:
    """A chosen reasoner and the line that tells the user which one it is."""

    reasoner: Reasoner
    kind: str
    """``rule-based``, ``openai`` or ``anthropic``."""
    description: str
    model: str | None = None
    """The model a model reasoner asks (None for the rule-based one)."""


def resolve_kind(choice: str, env: Mapping[str, str]) -> str:
    """``rule-based``, ``openai`` or ``anthropic`` for ``choice`` in ``env``.

    Raises:
        ReasonerChoiceError: an unknown choice, or a provider whose key (or base URL) is unset.
    """
    value = choice.strip().lower().replace("_", "-")
    if value not in REASONER_CHOICES:
        raise ReasonerChoiceError(
            UNKNOWN_REASONER.format(value=choice, choices=", ".join(REASONER_CHOICES))
        )
    openai_ready = bool(env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"))
    anthropic_ready = bool(env.get("ANTHROPIC_API_KEY"))
    if value == AUTO:
        return OPENAI if openai_ready else ANTHROPIC if anthropic_ready else RULE_BASED
    if value == OPENAI and not openai_ready:
        raise ReasonerChoiceError(NO_OPENAI)
    if value == ANTHROPIC and not anthropic_ready:
        raise ReasonerChoiceError(NO_ANTHROPIC)
    return value


def choose_reasoner(
    choice: str = AUTO, *, model: str | None = None, env: Mapping[str, str] | None = None
) -> ReasonerChoice:
    """Build the reasoner ``choice`` names (``--reasoner``), with ``model`` (``--model``, else
    ``$TRADING_AGENTS_MODEL``, else the provider's default).

    Raises:
        ReasonerChoiceError: see ``resolve_kind``; or a model named for the rule-based reasoner.
        ExtraMissingError: a model reasoner without its package (``[llm]``).
    """
    env = os.environ if env is None else env
    kind = resolve_kind(choice, env)
    model = model or env.get(MODEL_ENV) or None
    if kind == RULE_BASED:
        if model and choice.strip().lower() == AUTO:
            raise ReasonerChoiceError(MODEL_WITHOUT_MODEL_REASONER.format(model=model))
        return ReasonerChoice(RuleBasedReasoner(), kind, "rule-based (no model)")
    if kind == OPENAI:
        from .openai_reasoner import OpenAIReasoner

        openai = OpenAIReasoner(model, base_url=env.get("OPENAI_BASE_URL") or None)
        where = openai.base_url or "api.openai.com"
        return ReasonerChoice(
            openai, kind, f"openai, model {openai.model} at {where}", openai.model
        )
    from .anthropic_reasoner import AnthropicReasoner

    claude = AnthropicReasoner(model, base_url=env.get("ANTHROPIC_BASE_URL") or None)
    where = claude.base_url or "api.anthropic.com"
    return ReasonerChoice(claude, kind, f"anthropic, model {claude.model} at {where}", claude.model)
