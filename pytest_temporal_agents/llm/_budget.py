"""Token budgets: ``@pytest.mark.llm_budget(tokens=..., requests=..., cost=...)``.

The fake (or a cassette) answers every request with a token usage; a test that spends more
than its budget fails at teardown with a table of its requests and what each cost, so a
prompt that grew, a loop that asks the model once too often or a retry storm shows in CI.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ._errors import FakeLLMError
from ._requests import LLMRequest

BAD_BUDGET = """\
@pytest.mark.llm_budget({given}) is invalid: {problem}.
Give tokens= and requests= as whole numbers >= 0, cost= as a number >= 0 with prices=
{{model: (input price, output price) per million tokens}}, for example
@pytest.mark.llm_budget(tokens=2000, cost=0.01, prices={{"gpt-4o-mini": (0.15, 0.60)}})."""

UNPRICED = """\
llm_budget(cost={cost!r}) cannot price {models}: prices= names no price for them.
Add them to prices={{model: (input price, output price) per million tokens}}."""


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What one test may spend on model calls; None means no limit.

    Attributes:
        tokens: input plus output tokens of every answered request.
        requests: requests the fake received (answered or not).
        cost: money, at ``prices``.
        prices: per model, (input, output) price per million tokens.
    """

    tokens: int | None = None
    requests: int | None = None
    cost: float | None = None
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.tokens, self.requests, self.cost))


def read_budget(markers: Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]]) -> Budget:
    """Merge ``(args, kwargs)`` of ``llm_budget`` markers, closest first: the closest wins.

    Raises:
        FakeLLMError: positional arguments, an unknown keyword, or a value that is no budget.
    """
    merged: dict[str, Any] = {}
    for args, kwargs in reversed(list(markers)):
        unknown = sorted(set(kwargs) - {f.name for f in fields(Budget)})
        if args or unknown:
            problem = (
                "it takes no positional arguments" if args else f"unknown argument {unknown[0]!r}"
            )
            raise FakeLLMError(
                BAD_BUDGET.format(
                    given=f"{args!r}" if args else f"{unknown[0]}=...", problem=problem
                )
            )
        merged.update(kwargs)
    for name in ("tokens", "requests"):
        value = merged.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise FakeLLMError(
                BAD_BUDGET.format(
                    given=f"{name}={value!r}", problem=f"{name} must be a whole number >= 0"
                )
            )
    cost = merged.get("cost")
    if cost is not None and (
        isinstance(cost, bool)
        or not isinstance(cost, (int, float))
        or not math.isfinite(cost)
        or cost < 0
    ):
        raise FakeLLMError(
            BAD_BUDGET.format(given=f"cost={cost!r}", problem="cost must be a number >= 0")
        )
    prices = merged.get("prices") or {}
    if not isinstance(prices, Mapping) or not all(_is_price(p) for p in prices.values()):
        raise FakeLLMError(
            BAD_BUDGET.format(
                given=f"prices={prices!r}",
                problem="each price must be (input, output), numbers >= 0",
            )
        )
    return Budget(
        tokens=merged.get("tokens"), requests=merged.get("requests"), cost=cost, prices=dict(prices)
    )


def _is_price(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value)
    )


def budget_problems(requests: Sequence[LLMRequest], budget: Budget) -> list[str]:
    """One line per limit the requests exceeded, the last followed by their table; [] if none."""
    if not budget.limited:
        return []
    inputs = sum(r.usage.input_tokens for r in requests if r.usage is not None)
    outputs = sum(r.usage.output_tokens for r in requests if r.usage is not None)
    problems = []
    if budget.requests is not None and len(requests) > budget.requests:
        problems.append(
            f"llm_budget(requests={budget.requests}) exceeded: {len(requests)} requests"
        )
    if budget.tokens is not None and inputs + outputs > budget.tokens:
        problems.append(
            f"llm_budget(tokens={budget.tokens}) exceeded: {inputs + outputs} tokens "
            f"({inputs} input, {outputs} output)"
        )
    if budget.cost is not None:
        unpriced = sorted(
            {r.model or "?" for r in requests if r.usage is not None} - set(budget.prices)
        )
        if unpriced:
            problems.append(
                UNPRICED.format(cost=budget.cost, models=", ".join(map(repr, unpriced)))
            )
        else:
            spent = sum(_cost(r, budget.prices) for r in requests)
            if spent > budget.cost:
                problems.append(f"llm_budget(cost={budget.cost:g}) exceeded: {spent:.6g} spent")
    if problems:
        problems[-1] += "\n" + usage_table(requests, budget.prices)
    return problems


def _cost(request: LLMRequest, prices: Mapping[str, tuple[float, float]]) -> float:
    if request.usage is None:
        return 0.0
    price_in, price_out = prices[request.model or "?"]
    return (
        request.usage.input_tokens * price_in + request.usage.output_tokens * price_out
    ) / 1_000_000


def usage_table(
    requests: Sequence[LLMRequest], prices: Mapping[str, tuple[float, float]] | None = None
) -> str:
    """Each request's number, API, model and tokens (and cost, where priced)."""
    prices = prices or {}
    header = ["#", "api", "model", "input", "output", "total"] + (["cost"] if prices else [])
    rows = []
    for r in requests:
        usage = r.usage
        tokens = (
            ["-", "-", "-"]
            if usage is None
            else [str(usage.input_tokens), str(usage.output_tokens), str(usage.total_tokens)]
        )
        cost = [f"{_cost(r, prices):.6g}" if (r.model or "?") in prices else "-"] if prices else []
        rows.append([str(r.number), r.api, r.model or "?", *tokens, *cost])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i in (0, 3, 4, 5, 6) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in [header, *rows]
    ]
    return "  requests of this test:\n" + "\n".join(f"    {line}" for line in lines)
