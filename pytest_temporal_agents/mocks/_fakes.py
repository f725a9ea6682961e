"""Values faked from type annotations, for mocks declared without a return value.

A mock that is not told what to return still has to return something the workflow can
decode as the declared return type, and something plausible enough to read in a failure
report: a ``TradeResult`` with a ticker-like ``symbol`` and a positive ``price`` rather
than empty strings and zeros. Faker supplies the values, steered by field names; the
seed comes from the test, so a test sees the same values on every run. Types faker
cannot cover fall back to hypothesis's ``from_type`` (one example drawn with the same seed).
faker is the ``[fakes]`` extra and hypothesis the ``[property]`` one: a missing one is an
error that names it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import types
import typing
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from .._errors import HarnessUsageError
from .._extras import FAKES, PROPERTY, missing_extra

CANNOT_FAKE = """\
Cannot fake a return value of type {type!r} for {owner}: {reason}.
Give the mock a behaviour instead: returns=..., raises=..., sequence=[...] or side_effect=..."""

_MAX_DEPTH = 6
_STR_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("symbol", "ticker"), "ticker"),
    (("email",), "email"),
    (("url", "link", "href"), "url"),
    (("uuid", "_id", "id"), "uuid"),
    (("currency",), "currency"),
    (("first_name",), "first_name"),
    (("last_name",), "last_name"),
    (("company", "broker", "exchange"), "company"),
    (("name", "author", "agent", "trader", "user"), "name"),
    (("country",), "country"),
    (("city",), "city"),
    (("address",), "address"),
    (("phone",), "phone"),
    (
        ("reason", "message", "description", "text", "summary", "rationale", "comment",
         "note", "explanation", "recommendation", "analysis", "content", "error"),
        "sentence",
    ),
)
_UNIT_FLOATS = ("score", "confidence", "probability", "ratio", "rate", "weight", "pct", "percent")
_PRICE_FLOATS = ("price", "amount", "value", "cost", "cash", "balance", "total", "pnl", "fee")
_COUNT_INTS = ("qty", "quantity", "count", "shares", "size", "units", "volume", "attempt")


class CannotFake(HarnessUsageError, TypeError):
    """No value can be faked for a type; the message says which and what to do."""


def seed_for(*parts: object) -> int:
    """A stable 32-bit seed from any parts (``hash()`` of a str varies between runs)."""
    return zlib.crc32("\x1f".join(str(part) for part in parts).encode())


_FAKER: Any = None


def _faker(seed: int, owner: str) -> Any:
    global _FAKER
    if _FAKER is None:
        # Imported on first use: faker takes a fifth of a second to load, and it is an extra.
        try:
            from faker import Faker
        except ImportError as err:
            feature = f"Faking a return value for {owner} (a mock with no returns=...)"
            raise missing_extra("faker", extra=FAKES, feature=feature, reason=err) from None

        _FAKER = Faker()
    _FAKER.seed_instance(seed)
    return _FAKER


def fake_value(tp: Any, *, seed: int, name: str = "", owner: str = "the mock") -> Any:
    """A plausible value of type ``tp``, the same for the same seed.

    Args:
        tp: the type, as a return annotation (dataclasses, primitives, ``list``,
            ``dict``, ``tuple``, ``set``, ``Optional``/unions, ``Literal``, enums,
            ``datetime``/``date``/``timedelta``, ``Decimal``, ``UUID``, ``NamedTuple``,
            ``TypedDict`` and pydantic models, nested).
        seed: makes the value deterministic.
        name: the field or parameter name the value is for; steers strings and numbers
            (``symbol`` looks like a ticker, ``price`` is positive, ``confidence`` in 0..1).
        owner: named in the error message.

    Raises:
        CannotFake: no value of that type can be made.
    """
    return _Faking(owner, tp, seed).value(tp, name, 0)


class _Faking:
    def __init__(self, owner: str, root: Any, seed: int) -> None:
        self._faker: Any = None
        self.seed = seed
        self.owner = owner
        self.root = root

    @property
    def faker(self) -> Any:
        """Seeded on first use: a type that needs no faker (``None``) needs no [fakes] extra."""
        if self._faker is None:
            self._faker = _faker(self.seed, self.owner)
        return self._faker

    def fail(self, tp: Any, reason: str) -> CannotFake:
        return CannotFake(CANNOT_FAKE.format(type=self.root, owner=self.owner, reason=reason))

    def value(self, tp: Any, name: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return None
        if tp is None or tp is type(None):
            return None
        if tp is Any or tp is object:
            return self.faker.word()
        if isinstance(tp, typing.TypeVar):
            return self.value(tp.__bound__, name, depth) if tp.__bound__ else self.faker.word()
        origin = typing.get_origin(tp)
        if origin is not None:
            return self.generic(tp, origin, name, depth)
        if isinstance(tp, str):
            raise self.fail(tp, f"the annotation {tp!r} is an unresolved string")
        if not isinstance(tp, type):
            raise self.fail(tp, f"{tp!r} is not a type")
        return self.concrete(tp, name, depth)

    def generic(self, tp: Any, origin: Any, name: str, depth: int) -> Any:
        args = typing.get_args(tp)
        if origin is typing.Literal:
            return self.faker.random_element(list(args))
        if origin is typing.Union or origin is types.UnionType:
            options = [arg for arg in args if arg is not type(None)]
            # Optional[T] fakes a T: a present value tells more than None.
            return self.value(options[0] if len(options) == 1 else self.faker.random_element(options), name, depth)
        if origin is typing.Annotated:
            return self.value(args[0], name, depth)
        if origin is type(None):
            return None
        if isinstance(origin, type) and issubclass(origin, tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self.items(args[0], name, depth))
            return tuple(self.value(arg, name, depth + 1) for arg in args)
        if isinstance(origin, type) and issubclass(origin, Mapping):
            key_type, value_type = args if len(args) == 2 else (str, Any)
            count = self.count(depth)
            return {self.value(key_type, "key", depth + 1): self.value(value_type, name, depth + 1) for _ in range(count)}
        if isinstance(origin, type) and issubclass(origin, (AbstractSet,)):
            items = self.items(args[0] if args else Any, name, depth)
            return frozenset(items) if issubclass(origin, frozenset) else set(items)
        if isinstance(origin, type) and issubclass(origin, Sequence):
            return self.items(args[0] if args else Any, name, depth)
        if isinstance(origin, type):
            return self.concrete(origin, name, depth)
        raise self.fail(tp, f"{tp!r} is not a supported generic")

    def count(self, depth: int) -> int:
        return 0 if depth >= _MAX_DEPTH - 1 else self.faker.random_int(1, 3)

    def items(self, item_type: Any, name: str, depth: int) -> list[Any]:
        return [self.value(item_type, name, depth + 1) for _ in range(self.count(depth))]

    def concrete(self, tp: type, name: str, depth: int) -> Any:
        faker = self.faker
        lowered = name.lower()
        if issubclass(tp, enum.Enum):
            return faker.random_element(list(tp))
        if tp is bool:
            return faker.pybool()
        if issubclass(tp, int):
            if any(hint in lowered for hint in _COUNT_INTS):
                return tp(faker.random_int(1, 100))
            return tp(faker.random_int(0, 1000))
        if issubclass(tp, float):
            if any(hint in lowered for hint in _UNIT_FLOATS):
                return tp(round(faker.random.random(), 3))
            if any(hint in lowered for hint in _PRICE_FLOATS):
                return tp(faker.pyfloat(min_value=1, max_value=500, right_digits=2))
            return tp(faker.pyfloat(min_value=0, max_value=1000, right_digits=2))
        if issubclass(tp, decimal.Decimal):
            return faker.pydecimal(left_digits=4, right_digits=2, positive=True)
        if issubclass(tp, str):
            return tp(self.text(lowered))
        if issubclass(tp, (bytes, bytearray)):
            return tp(faker.binary(length=8))
        if issubclass(tp, _dt.datetime):
            return faker.date_time(tzinfo=_dt.timezone.utc)
        if issubclass(tp, _dt.date):
            return faker.date_object()
        if issubclass(tp, _dt.time):
            return faker.time_object()
        if issubclass(tp, _dt.timedelta):
            return _dt.timedelta(seconds=faker.random_int(1, 86_400))
        if issubclass(tp, uuid.UUID):
            return uuid.UUID(faker.uuid4())
        if dataclasses.is_dataclass(tp):
            return self.from_fields(tp, depth, lambda values: tp(**values), init_only=True)
        if issubclass(tp, tuple) and hasattr(tp, "_fields"):
            return self.from_fields(tp, depth, lambda values: tp(**values))
        if isinstance(getattr(tp, "model_fields", None), dict):
            validate: Callable[[dict[str, Any]], Any] = tp.model_validate  # type: ignore[attr-defined]
            return self.from_fields(tp, depth, validate)
        if issubclass(tp, dict) and hasattr(tp, "__total__"):  # TypedDict
            return self.from_fields(tp, depth, dict)
        return self.from_hypothesis(tp)

    def text(self, lowered: str) -> str:
        faker = self.faker
        for hints, kind in _STR_HINTS:
            if any(lowered == hint or lowered.endswith("_" + hint.lstrip("_")) for hint in hints):
                if kind == "ticker":
                    return "".join(faker.random_uppercase_letter() for _ in range(faker.random_int(3, 4)))
                if kind == "uuid":
                    return str(faker.uuid4())
                if kind == "currency":
                    return str(faker.currency_code())
                return str(getattr(faker, kind)())
        return str(faker.word())

    def from_fields(
        self,
        tp: type,
        depth: int,
        build: Callable[[dict[str, Any]], Any],
        *,
        init_only: bool = False,
    ) -> Any:
        try:
            hints = typing.get_type_hints(tp)
        except Exception as err:  # noqa: BLE001 - reported with the type
            raise self.fail(tp, f"the annotations of {tp.__qualname__} do not resolve ({err})") from None
        names = list(hints)
        if init_only:
            names = [f.name for f in dataclasses.fields(tp) if f.init]
        values = {field: self.value(hints.get(field, Any), field, depth + 1) for field in names}
        return build(values)

    def from_hypothesis(self, tp: type) -> Any:
        try:
            from hypothesis import HealthCheck, Phase, given, settings
            from hypothesis import seed as with_seed
            from hypothesis import strategies as st
        except ImportError as err:
            feature = f"Faking a value of type {tp.__qualname__} (which faker cannot build) for {self.owner}"
            raise missing_extra("hypothesis", extra=PROPERTY, feature=feature, reason=err) from None

        drawn: list[Any] = []

        # One generated example, no shrinking: deterministic for the seed, and quick.
        @with_seed(self.seed)
        @settings(max_examples=1, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.from_type(tp))
        def draw(value: Any) -> None:
            drawn.append(value)

        try:
            draw()
        except Exception as err:  # noqa: BLE001 - reported with the type
            raise self.fail(tp, f"neither faker nor hypothesis can build a {tp.__qualname__} ({err!r})") from None
        if not drawn:
            raise self.fail(tp, f"hypothesis drew no {tp.__qualname__}")
        return drawn[0]
