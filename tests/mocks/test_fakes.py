"""fake_value: plausible, deterministic values from type annotations (no server)."""

from __future__ import annotations

import enum
import fractions
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple, Optional, TypedDict

import pytest

from pytest_temporal_agents import CannotFake, fake_value
from pytest_temporal_agents.mocks._fakes import seed_for


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


@dataclass
class Fill:
    order_id: str
    price: float
    quantity: int
    at: datetime


@dataclass
class Decision:
    symbol: str
    side: Side
    confidence: float
    rationale: str
    fills: list[Fill]
    limits: dict[str, Decimal]
    stop: Optional[float] = None  # noqa: UP045 - the typing spelling must work too
    tags: tuple[str, ...] = ()
    status: Literal["open", "closed"] = "open"
    computed: int = field(default=0, init=False)


class Point(NamedTuple):
    x: int
    y: int


class Summary(TypedDict):
    name: str
    total: float


def test_nested_dataclasses_get_plausible_values() -> None:
    decision = fake_value(Decision, seed=7)
    assert isinstance(decision, Decision)
    assert decision.symbol.isalpha() and decision.symbol.isupper() and 3 <= len(decision.symbol) <= 4
    assert isinstance(decision.side, Side)
    assert 0 <= decision.confidence <= 1
    assert " " in decision.rationale  # a sentence, not a word
    assert 1 <= len(decision.fills) <= 3
    fill = decision.fills[0]
    assert isinstance(fill, Fill) and fill.price >= 1 and 1 <= fill.quantity <= 100
    assert uuid.UUID(fill.order_id) and fill.at.tzinfo is not None
    assert all(isinstance(value, Decimal) for value in decision.limits.values())
    assert isinstance(decision.stop, float)  # Optional fakes the type, not None
    assert decision.status in ("open", "closed")
    assert all(isinstance(tag, str) for tag in decision.tags)
    assert decision.computed == 0  # init=False fields keep their default


def test_the_same_seed_gives_the_same_value() -> None:
    assert fake_value(Decision, seed=42) == fake_value(Decision, seed=42)
    assert fake_value(Decision, seed=42) != fake_value(Decision, seed=43)
    assert seed_for("test_a", "activity", 1) == seed_for("test_a", "activity", 1)
    assert seed_for("test_a", "activity", 1) != seed_for("test_a", "activity", 2)


@pytest.mark.parametrize(
    ("tp", "check"),
    [
        (int, lambda v: isinstance(v, int)),
        (bool, lambda v: isinstance(v, bool)),
        (str, lambda v: isinstance(v, str) and v),
        (bytes, lambda v: isinstance(v, bytes) and len(v) == 8),
        (date, lambda v: type(v) is date),
        (timedelta, lambda v: v > timedelta(0)),
        (uuid.UUID, lambda v: isinstance(v, uuid.UUID)),
        (list[int], lambda v: isinstance(v, list) and all(isinstance(i, int) for i in v)),
        (set[str], lambda v: isinstance(v, set)),
        (frozenset[int], lambda v: isinstance(v, frozenset)),
        (tuple[int, str], lambda v: isinstance(v[0], int) and isinstance(v[1], str)),
        (dict[str, list[float]], lambda v: all(isinstance(x, float) for xs in v.values() for x in xs)),
        (int | None, lambda v: isinstance(v, int)),
        (Point, lambda v: isinstance(v, Point) and isinstance(v.x, int)),
        (Summary, lambda v: set(v) == {"name", "total"} and " " in v["name"]),
        (None, lambda v: v is None),
        (type(None), lambda v: v is None),
        (Any, lambda v: isinstance(v, str)),
        (fractions.Fraction, lambda v: isinstance(v, fractions.Fraction)),  # via hypothesis
    ],
)
def test_types(tp: Any, check: Any) -> None:
    assert check(fake_value(tp, seed=1))


def test_recursive_types_stop() -> None:
    @dataclass
    class Node:
        name: str
        children: list[Node]

    globals()["Node"] = Node  # the annotation is a string: let it resolve
    try:
        node = fake_value(Node, seed=3)
    finally:
        del globals()["Node"]
    depth = 0
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth <= 6


def test_types_that_cannot_be_faked_say_what_to_do() -> None:
    class Opaque:
        def __init__(self, handle: Any) -> None:
            raise RuntimeError("needs a live connection")

    with pytest.raises(CannotFake) as failure:
        fake_value(Opaque, seed=1, owner="activity mock 'connect'")
    message = str(failure.value)
    assert message.startswith("Cannot fake a return value of type ")
    assert "for activity mock 'connect': neither faker nor hypothesis can build a " in message
    assert "Give the mock a behaviour instead: returns=..., raises=..., sequence=[...] or side_effect=..." in message

    @dataclass
    class Broken:
        missing: "Undefined"  # type: ignore[name-defined]  # noqa: F821, UP037

    with pytest.raises(CannotFake, match="the annotations of .*Broken do not resolve"):
        fake_value(Broken, seed=1)
