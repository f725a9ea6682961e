"""Likely causes of nondeterminism, found by reading a workflow's source.

The workflow class is parsed (not run), and so is every function of user code it calls by
name, in its own module or another (a clock read in a helper imported through
``imports_passed_through()`` escapes the sandbox, and is a classic cause). Each finding is
a cause, a line, and the fix.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._nondeterminism import SourceLine, _is_user_path

CLOCK = "wall-clock time"
RANDOM = "randomness"
IO = "I/O"
SET_ORDER = "iteration over a set"
HASH = "hash()"
BYPASS = "sandbox bypass"

FIXES = {
    CLOCK: "use workflow.now() or workflow.time(): the time of the current workflow task, "
    "the same on every replay",
    RANDOM: "use workflow.random() (seeded from the history) or workflow.uuid4()",
    IO: "move it into an activity: on replay the workflow gets the activity's result from "
    "the history instead of doing the I/O again",
    SET_ORDER: "iterate sorted(...) instead: the order of a set of str/bytes depends on "
    "PYTHONHASHSEED, which differs between worker processes",
    HASH: "hash() of str/bytes differs between processes; use hashlib or workflow.random()",
    BYPASS: "the sandbox does not check code here; keep it free of time, randomness and I/O",
}

_CLOCK_CALLS = {
    "datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time",
    "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "time.perf_counter_ns", "time.localtime", "time.gmtime", "time.ctime", "time.strftime",
}  # fmt: skip
_RANDOM_PREFIXES = ("random.", "secrets.", "np.random.", "numpy.random.")
_RANDOM_CALLS = {"uuid.uuid1", "uuid.uuid4", "uuid1", "uuid4", "os.urandom", "os.getrandom"}
_IO_PREFIXES = (
    "os.path.", "os.environ", "os.getenv", "os.listdir", "os.scandir", "os.stat", "shutil.",
    "requests.", "httpx.", "urllib.", "aiohttp.", "socket.", "sqlite3.", "subprocess.",
    "boto3.", "psycopg", "redis.",
)  # fmt: skip
_IO_CALLS = {"open", "input"}
_IO_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "exists", "iterdir"}
_SET_CONSUMERS = {"list", "tuple", "enumerate", "zip", "iter", "next"}
_SET_METHODS = {"union", "intersection", "difference", "symmetric_difference"}


@dataclass(frozen=True)
class Finding:
    """A line of workflow code that can make replays diverge."""

    cause: str
    line: SourceLine

    def __str__(self) -> str:
        return f"{self.cause} at {self.line}\n      fix: {FIXES[self.cause]}"


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _is_set_annotation(node: ast.AST | None) -> bool:
    if node is None:
        return False
    text = _dotted(node.value if isinstance(node, ast.Subscript) else node)
    return text.split(".")[-1] in {"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"}


class _Scanner(ast.NodeVisitor):
    """Walks one workflow class (and the module functions it calls) for likely causes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.set_names: set[str] = set()
        self.called: set[str] = set()

    def _add(self, cause: str, node: ast.AST) -> None:
        self.findings.append(Finding(cause, SourceLine(self.path, getattr(node, "lineno", 0))))

    def _is_set(self, node: ast.AST) -> bool:
        if isinstance(node, (ast.Set, ast.SetComp)):
            return True
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in {"set", "frozenset"}:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr in _SET_METHODS:
                return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub, ast.BitXor)):
            return self._is_set(node.left) or self._is_set(node.right)
        return _dotted(node) in self.set_names

    # names and attributes that hold sets
    def visit_Assign(self, node: ast.Assign) -> None:
        if self._is_set(node.value):
            self.set_names.update(_dotted(t) for t in node.targets)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if _is_set_annotation(node.annotation) or (node.value is not None and self._is_set(node.value)):
            self.set_names.add(_dotted(node.target))
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if _is_set_annotation(node.annotation):
            self.set_names.add(node.arg)

    # iteration over sets
    def visit_For(self, node: ast.For) -> None:
        if self._is_set(node.iter):
            self._add(SET_ORDER, node)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if self._is_set(node.iter):
            self._add(SET_ORDER, node.iter)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if _dotted(item.context_expr).endswith("sandbox_unrestricted()"):
                self._add(BYPASS, node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _dotted(node) == "os.environ":
            self._add(IO, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        tail2 = ".".join(name.split(".")[-2:])
        if name.startswith("workflow."):
            pass
        elif tail2 in _CLOCK_CALLS:
            self._add(CLOCK, node)
        elif name.startswith(_RANDOM_PREFIXES) or name in _RANDOM_CALLS:
            self._add(RANDOM, node)
        elif (
            name in _IO_CALLS
            or name.startswith(_IO_PREFIXES)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in _IO_METHODS)
        ):
            if name != "os.environ":  # reported once, by visit_Attribute
                self._add(IO, node)
        elif name == "hash":
            self._add(HASH, node)
        elif (name in _SET_CONSUMERS or name.endswith(".join")) and any(self._is_set(a) for a in node.args) or isinstance(node.func, ast.Attribute) and node.func.attr == "pop" and self._is_set(node.func.value):
            self._add(SET_ORDER, node)
        if name and not name.startswith(("workflow.", "self.")):
            self.called.add(name)
        self.generic_visit(node)


@lru_cache(maxsize=128)
def _module_ast(path: str, mtime: float) -> ast.Module | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None


#: Helper functions followed from a workflow class, at most: the scan stays cheap.
MAX_HELPERS = 30


def _definition(obj: Any) -> tuple[str, ast.AST] | None:
    """The file and AST node that define a class or function of user code."""
    try:
        path = inspect.getsourcefile(obj)
        _, first_line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return None
    if path is None or not _is_user_path(path):
        return None
    tree = _module_ast(path, os.path.getmtime(path))
    if tree is None:
        return None
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds) and node.name == obj.__name__ and _starts(node) == first_line:
            return path, node
    return None


def _resolve(name: str, namespace: dict[str, Any]) -> Any:
    parts = name.split(".")
    if parts[0] not in namespace or "()" in name:
        return None
    value = namespace[parts[0]]
    for part in parts[1:]:
        value = getattr(value, part, None)
    return value if inspect.isfunction(value) else None


def scan_workflow(cls: type) -> list[Finding]:
    """Lines that break determinism in a workflow class and in the functions it calls.

    Functions are followed by name (``helper()``, ``helpers.order_ref()``) into user code
    of any module, transitively: a clock read in a helper imported through
    ``imports_passed_through()`` escapes the sandbox and is a classic cause.
    """
    found = _definition(cls)
    if found is None:
        return []
    module = sys.modules.get(cls.__module__)
    pending: list[tuple[str, ast.AST, dict[str, Any]]] = [(*found, vars(module) if module else {})]
    seen: set[int] = set()
    findings: list[Finding] = []
    while pending and len(seen) <= MAX_HELPERS:
        path, node, namespace = pending.pop(0)
        seen.add(id(node))
        scanner = _Scanner(path)
        if isinstance(node, ast.ClassDef) and _is_unsandboxed(node):
            scanner._add(BYPASS, node)
        scanner.visit(node)
        findings.extend(scanner.findings)
        for name in sorted(scanner.called):
            function = _resolve(name, namespace)
            definition = _definition(function) if function is not None else None
            if definition is not None and id(definition[1]) not in seen:
                pending.append((*definition, function.__globals__))
    unique = {(f.cause, f.line.path, f.line.line): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line.path != found[0], f.line.path, f.line.line))


def _starts(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _is_unsandboxed(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and _dotted(decorator.func).endswith("defn"):
            for keyword in decorator.keywords:
                if keyword.arg == "sandboxed" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
                    return True
    return False
