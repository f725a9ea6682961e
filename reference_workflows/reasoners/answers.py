"""What a model reasoner asks and how it reads the answer: prompts, JSON schemas, validation.

One place for both providers, so the OpenAI-compatible and the Anthropic reasoner ask the same
question and hold the answer to the same rules; they differ only in how the request travels
(``ModelReasoner.ask``). The model answers only what it decides (action, quantity,
confidence, rationale; for a plan also entry, stop-loss and take-profit); everything the
context already knows (symbol, strategy, the agent's name) is filled in here, so the model
cannot get it wrong. The answer is rebuilt with temporalio's own ``value_to_type`` (the
converter's coercion: a misspelt action fails like a bad payload) and checked. A malformed
answer raises ``MalformedAnswerError``, which is retryable: the activity fails and Temporal
asks again, with the backoff of the workflow's retry policy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from abc import ABC, abstractmethod
from typing import Any

from temporalio.converter import value_to_type

from ..models import AgentContext, AgentDecision, Signal, Strategy, TradingError, TradingPlan

MALFORMED_MODEL_ANSWER = "MalformedModelAnswer"
"""ApplicationError type of a model answer that is not the JSON asked for (retryable)."""

SYSTEM_PROMPT = """\
You are the reasoning agent of a paper-trading desk. You get what the other agents found \
about one symbol as JSON: research (price summary, sentiment, headlines), technical analysis \
(indicators and a signal) and the risk assessment (risk score, whether risk approved a trade, \
and max_position_size, the most shares the desk may trade).
Rules: never trade when risk.approved is false; never exceed risk.max_position_size; \
quantity is a whole number of shares, 0 for hold; confidence is between 0 and 1.
Answer with one JSON object that matches the schema, and nothing else."""

_ACTION = {"type": "string", "enum": [signal.value for signal in Signal]}
_RATIONALE = {"type": "array", "items": {"type": "string"}}

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": _ACTION,
        "quantity": {"type": "integer"},
        "confidence": {"type": "number"},
        "rationale": _RATIONALE,
    },
    "required": ["action", "quantity", "confidence", "rationale"],
    "additionalProperties": False,
}
"""What the model answers to ``decide``: the fields of ``AgentDecision`` it chooses."""

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": _ACTION,
        "quantity": {"type": "integer"},
        "entry_price": {"type": "number"},
        "stop_loss": {"type": "number"},
        "take_profit": {"type": "number"},
        "rationale": _RATIONALE,
    },
    "required": ["action", "quantity", "entry_price", "stop_loss", "take_profit", "rationale"],
    "additionalProperties": False,
}
"""What the model answers to ``plan``: the fields of ``TradingPlan`` it chooses."""


class MalformedAnswerError(TradingError, error_type=MALFORMED_MODEL_ANSWER, retryable=True):
    """The model's answer is not the JSON asked for, or breaks its rules; asking again may help."""


def context_json(context: AgentContext) -> str:
    """``context`` as the JSON the prompt carries (enums as values, datetimes as ISO text)."""
    return json.dumps(dataclasses.asdict(context), default=_plain, indent=1, sort_keys=True)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return getattr(value, "value", str(value))


def decision_prompt(context: AgentContext) -> str:
    """The user message of ``decide``: the task, then the whole context."""
    return (
        f"Decide whether to buy, sell or hold {context.symbol} now, trading the "
        f"{Strategy(context.strategy).value} strategy.\n"
        f"Context:\n{context_json(context)}"
    )


def plan_prompt(context: AgentContext) -> str:
    """The user message of ``plan``: the task, the price levels' rules, the context."""
    return (
        f"Plan a trade of {context.symbol} by the {Strategy(context.strategy).value} strategy: "
        "action, quantity, entry price, stop-loss and take-profit. For buy: stop_loss < "
        "entry_price < take_profit; for sell the other way round; for hold use quantity 0 and "
        "the last price for all three.\n"
        f"Context:\n{context_json(context)}"
    )


def parse_json(text: str | None, what: str) -> dict[str, Any]:
    """The JSON object in a model's text answer.

    Local models often wrap JSON in a Markdown fence or a sentence; the object between the
    first ``{`` and the last ``}`` is taken.

    Raises:
        MalformedAnswerError: no text, or no JSON object in it.
    """
    if not text or not text.strip():
        raise MalformedAnswerError(f"the model gave no text for {what}; expected a JSON object")
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        data = json.loads(match.group(0) if match else text)
    except json.JSONDecodeError as error:
        raise MalformedAnswerError(
            f"the model's answer for {what} is not JSON ({error.msg}): {_clip(text)}"
        ) from None
    if not isinstance(data, dict):
        raise MalformedAnswerError(f"the model's answer for {what} is not a JSON object: {data!r}")
    return data


def _clip(text: str, limit: int = 200) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _rebuild(cls: type[Any], data: dict[str, Any], schema: dict[str, Any], what: str) -> Any:
    """``value_to_type(cls, data)``, after checking the schema's fields are there."""
    missing = [name for name in schema["required"] if name not in data]
    if missing:
        raise MalformedAnswerError(
            f"the model's answer for {what} lacks {', '.join(missing)}: {_clip(json.dumps(data))}"
        )
    try:
        return value_to_type(cls, data)
    except (TypeError, ValueError, KeyError) as error:
        raise MalformedAnswerError(
            f"the model's answer for {what} does not fit {cls.__name__}: {error}"
        ) from None


def to_decision(data: dict[str, Any], context: AgentContext, reasoner: str) -> AgentDecision:
    """The ``AgentDecision`` a model's ``decide`` answer stands for.

    An over-sized quantity is not an error here: the agents' guardrails clamp it to the risk
    limit (and say so), as they do for any reasoner.

    Raises:
        MalformedAnswerError: fields missing, an unknown action, a negative or fractional
            quantity, a confidence outside [0, 1].
    """
    what = f"decide({context.symbol})"
    answer = _known_fields(data, DECISION_SCHEMA)
    full = {"agent": "reasoning", "symbol": context.symbol, "reasoner": reasoner, **answer}
    decision: AgentDecision = _rebuild(AgentDecision, full, DECISION_SCHEMA, what)
    _check_quantity(data["quantity"], what)
    if not 0.0 <= decision.confidence <= 1.0 or math.isnan(decision.confidence):
        raise MalformedAnswerError(f"{what}: confidence {decision.confidence!r} is not in [0, 1]")
    if decision.action is Signal.HOLD:
        decision.quantity = 0
    return decision


def to_plan(data: dict[str, Any], context: AgentContext) -> TradingPlan:
    """The ``TradingPlan`` a model's ``plan`` answer stands for (notional and maximum loss
    computed here, not asked for).

    Raises:
        MalformedAnswerError: fields missing, an unknown action, a bad quantity, prices that
            are not positive or stops on the wrong side of the entry.
    """
    what = f"plan({context.symbol})"
    answer = _known_fields(data, PLAN_SCHEMA)
    _check_quantity(answer.get("quantity"), what)
    full = {
        "symbol": context.symbol,
        "strategy": Strategy(context.strategy).value,
        "signal": answer.pop("action", None),
        "notional": 0.0,
        "max_loss": 0.0,
        "approved": False,
        **answer,
    }
    schema = {"required": [n if n != "action" else "signal" for n in PLAN_SCHEMA["required"]]}
    plan: TradingPlan = _rebuild(TradingPlan, full, schema, what)
    entry, stop, target = plan.entry_price, plan.stop_loss, plan.take_profit
    if min(entry, stop, target) <= 0:
        raise MalformedAnswerError(f"{what}: prices must be positive, got {entry}/{stop}/{target}")
    direction = {Signal.BUY: 1, Signal.SELL: -1}.get(plan.signal)
    if direction is not None and not direction * stop < direction * entry < direction * target:
        raise MalformedAnswerError(
            f"{what}: a {plan.signal.value} needs the stop-loss and take-profit on either side of "
            f"the entry, got stop {stop}, entry {entry}, take-profit {target}"
        )
    quantity = plan.quantity if direction is not None else 0
    return dataclasses.replace(
        plan,
        quantity=quantity,
        notional=round(quantity * entry, 2),
        max_loss=round(quantity * abs(entry - stop), 2),
        approved=direction is not None and quantity > 0,
    )


def _known_fields(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The answer's fields the schema names (extra keys ignored), the action lower-cased:
    ``"BUY"`` is what a model means by ``"buy"``."""
    known = {name: data[name] for name in schema["properties"] if name in data}
    if isinstance(known.get("action"), str):
        known["action"] = known["action"].strip().lower()
    return known


def _check_quantity(quantity: object, what: str) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise MalformedAnswerError(
            f"{what}: quantity {quantity!r} is not a whole number of shares >= 0"
        )


class ModelReasoner(ABC):
    """A ``Reasoner`` that asks a language model: the prompts, parsing and checks, with the
    transport left to a subclass (``ask``).

    ``decide`` and ``plan`` are synchronous and block on the model: the agents call them in a
    worker thread (``run_in_thread``), so the activity's event loop stays free.
    """

    name: str
    model: str

    @abstractmethod
    def ask(self, prompt: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The model's answer to ``prompt`` (after ``SYSTEM_PROMPT``) as a JSON object that
        should match ``schema``.

        Raises:
            MalformedAnswerError: the answer is no JSON object.
        """

    def decide(self, context: AgentContext) -> AgentDecision:
        """The model's decision on ``context`` (research, analysis and risk filled in)."""
        if context.analysis is None or context.risk is None:
            raise ValueError("decide() needs context.analysis and context.risk; gather them first")
        answer = self.ask(decision_prompt(context), "trading_decision", DECISION_SCHEMA)
        return to_decision(answer, context, self.name)

    def plan(self, context: AgentContext) -> TradingPlan:
        """The model's trading plan for ``context``."""
        if context.analysis is None or context.risk is None:
            raise ValueError("plan() needs context.analysis and context.risk; gather them first")
        return to_plan(self.ask(plan_prompt(context), "trading_plan", PLAN_SCHEMA), context)
