"""The fake model server's errors, and the one place that imports the [llm] extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from .._errors import TemporalAgentsError

#: How to install what the fake model server needs (named in every missing-extra error).
INSTALL_EXTRA = "pip install 'pytest-temporal-agents[llm]'"

MISSING_EXTRA = """\
The fake model server needs the [llm] extra, but {module!r} is not installed ({reason}).
Install it with: {install}"""


class FakeLLMError(TemporalAgentsError):
    """The fake model server was scripted or used in a way that cannot work."""


class FakeLLMProblems(FakeLLMError, AssertionError):
    """Requests the fake could not answer, or scripted replies nobody asked for.

    It is an ``AssertionError`` too, so pytest reports it as a test failure.

    Attributes:
        problems: one line per problem.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(describe_problems(problems))


class LLMExtraMissing(FakeLLMError, ImportError):
    """A package of the ``[llm]`` extra (starlette, uvicorn, openai, anthropic) is missing."""


def describe_problems(problems: list[str]) -> str:
    """The teardown message: a header, then one ``- item`` per problem."""
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return f"fake_llm: {count}:\n" + "\n".join(f"- {problem}" for problem in problems)


def require(module: str) -> ModuleType:
    """Import a module of the [llm] extra, or raise :class:`LLMExtraMissing` naming it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise LLMExtraMissing(
            MISSING_EXTRA.format(module=module.split(".")[0], reason=err, install=INSTALL_EXTRA)
        ) from None
