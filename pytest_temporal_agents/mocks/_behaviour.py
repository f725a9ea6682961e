"""What a mock does when called: ``returns``, ``raises``, ``sequence``, ``side_effect``, ``after``.

Validated when the mock is declared, checked against the real signature and return type
when it is bound, and consulted on every call. Without ``returns``/``raises``/``sequence``
the result is faked from the return annotation.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from .._errors import HarnessUsageError
from ._fakes import fake_value

UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "UNSET"})()

EXCLUSIVE_BEHAVIOURS = """\
{mock} got {given}: give at most one of returns=, raises= and sequence=.
(side_effect= and after= combine with any of them.)"""

BAD_RAISES = """\
{mock} got raises={value!r}: expected an exception instance or class, such as
raises=ApplicationError("broker down", non_retryable=True)."""

BAD_SEQUENCE = """\
{mock} got sequence={value!r}: expected a non-empty list of results, in which an
exception (instance or class) is raised for that call instead of returned."""

BAD_SIDE_EFFECT = """\
{mock} got side_effect={value!r}: expected a callable of the arguments (it may be async);
to raise, use raises=."""

BAD_AFTER = """\
{mock} got after={value!r}: expected a datetime.timedelta >= 0, such as
after=timedelta(minutes=5)."""

BAD_CALLABLE = """\
{mock} got {option}={fn!r}: it must accept the {kind}'s arguments ({params}): {error}.
Define it as `def {option}({params}): ...` (it may be async)."""

NOT_SERIALISABLE = """\
{mock}: {option}={value!r} cannot be sent as the declared return type {type}: {reason}.
Return a {type} (or a value the data converter turns into one), or fix the return annotation."""

SEQUENCE_EXHAUSTED = (
    "{mock} was called {count} times, but its sequence= has only {length} results; "
    "the call from workflow {workflow_id!r} failed (add results or expect fewer calls)"
)


def is_exception(value: Any) -> bool:
    return isinstance(value, BaseException) or (
        isinstance(value, type) and issubclass(value, BaseException)
    )


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class Behaviour:
    """A mock's behaviour, and where its ``sequence`` has got to."""

    returns: Any = UNSET
    raises: BaseException | type[BaseException] | None = None
    sequence: Sequence[Any] | None = None
    side_effect: Callable[..., Any] | None = None
    after: timedelta | None = None
    used: int = 0
    exhausted: list[str] = field(default_factory=list)

    @property
    def fakes_results(self) -> bool:
        return self.returns is UNSET and self.raises is None and self.sequence is None

    def validate(self, label: str) -> None:
        """Raises HarnessUsageError for a behaviour no call could follow."""
        given = [
            option for option, unset in (("returns", UNSET), ("raises", None), ("sequence", None))
            if getattr(self, option) is not unset
        ]
        if len(given) > 1:
            raise HarnessUsageError(
                EXCLUSIVE_BEHAVIOURS.format(mock=label, given=" and ".join(f"{g}=" for g in given))
            )
        if self.raises is not None and not is_exception(self.raises):
            raise HarnessUsageError(BAD_RAISES.format(mock=label, value=self.raises))
        if self.sequence is not None and (
            isinstance(self.sequence, (str, bytes)) or not isinstance(self.sequence, Sequence)
            or not self.sequence
        ):
            raise HarnessUsageError(BAD_SEQUENCE.format(mock=label, value=self.sequence))
        if self.side_effect is not None and not callable(self.side_effect):
            raise HarnessUsageError(BAD_SIDE_EFFECT.format(mock=label, value=self.side_effect))
        if self.after is not None and (not isinstance(self.after, timedelta) or self.after < timedelta(0)):
            raise HarnessUsageError(BAD_AFTER.format(mock=label, value=self.after))

    def check(
        self,
        label: str,
        kind: str,
        params: list[str] | None,
        return_type: Any,
        check_value: Callable[[Any], None],
    ) -> None:
        """Check the behaviour against the real parameters and return type.

        Raises:
            HarnessUsageError: a callable that cannot take the arguments, a value that
                cannot be sent as the return type, a return type nothing can be faked for.
        """
        for option, fn in (("returns", self.returns), ("side_effect", self.side_effect)):
            if fn is UNSET or fn is None or not callable(fn) or params is None:
                continue
            try:
                inspect.signature(fn).bind(*params)
            except TypeError as err:
                raise HarnessUsageError(BAD_CALLABLE.format(
                    mock=label, option=option, fn=fn, kind=kind, params=", ".join(params), error=err
                )) from None
            except ValueError:  # builtins without a signature: trust them
                pass
        values = [("returns", self.returns)] if self.returns is not UNSET and not callable(self.returns) else []
        values += [("sequence", item) for item in self.sequence or () if not is_exception(item)]
        for option, value in values:
            try:
                check_value(value)
            except Exception as err:  # noqa: BLE001 - any converter error is the user's to fix
                raise HarnessUsageError(NOT_SERIALISABLE.format(
                    mock=label, option=option, value=value, type=_type_name(return_type), reason=err
                )) from None
        if self.fakes_results:
            fake_value(return_type, seed=0, owner=label)  # fails now, not mid-workflow

    async def produce(self, label: str, args: tuple[Any, ...], workflow_id: str, fake: Callable[[], Any]) -> Any:
        """One call's result; raises the call's error."""
        if self.raises is not None:
            raise _exception(self.raises, label)
        if self.sequence is not None:
            position = self.used
            self.used += 1
            if position >= len(self.sequence):
                message = SEQUENCE_EXHAUSTED.format(
                    mock=label, count=self.used, length=len(self.sequence), workflow_id=workflow_id
                )
                self.exhausted.append(message)
                raise ApplicationError(message, type="MockSequenceExhausted", non_retryable=True)
            item = self.sequence[position]
            if is_exception(item):
                raise _exception(item, label)
            return item
        if self.returns is not UNSET:
            if callable(self.returns):
                return await maybe_await(self.returns(*args))
            return self.returns
        return fake()


def _exception(value: BaseException | type[BaseException], label: str) -> BaseException:
    if isinstance(value, BaseException):
        # A fresh copy per call: raising one instance again would chain its tracebacks.
        try:
            return copy.copy(value)
        except TypeError:  # keyword-only constructor arguments (nexusrpc.OperationError)
            return value.with_traceback(None)
    try:
        return value(f"raised by {label}")
    except TypeError:
        return value()


def _type_name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)
