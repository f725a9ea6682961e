"""Argument types of ``trading-agents``: each checks one value and says what to give instead.

An ``argparse`` type that raises :class:`argparse.ArgumentTypeError` makes argparse print the
command's usage and ``trading-agents CMD: error: argument --OPTION: <message>`` and exit 2,
before anything starts; the messages here are that ``<message>``: the value, what is wrong
with it, and what to give.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

#: Beyond these a value is a typo (or a test of the parser), not a request.
MOST_LISTED = 10_000
MOST_DEPOSIT = 1_000_000_000_000.0

#: A ticker: letters and digits, with the separators exchanges use (BRK.B, BTC-USD, ^GSPC).
SYMBOL = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9.^=/-]{0,14}$")


def address(value: str) -> str:
    """HOST:PORT of a Temporal frontend."""
    host, sep, port = value.strip().rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT (for example localhost:7233)")
    return value.strip()


def port(value: str) -> int:
    """A port to listen on: 0 (any free one) to 65535."""
    if not value.strip().isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a port: give 1 to 65535, or 0 for any free one"
        )
    return int(value)


def positive(kind: type[int | float], most: float) -> Callable[[str], float]:
    """A number above zero and at most ``most``; ``_`` and ``,`` group digits."""
    what = "a whole number" if kind is int else "a number"

    def parse(value: str) -> float:
        try:
            number = kind(value.replace(",", "").replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not {what}; give one above zero"
            ) from None
        if not math.isfinite(number):
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a finite number; give {what} above zero"
            )
        if not number > 0:
            raise argparse.ArgumentTypeError(f"{value!r} is not above zero; give {what} above zero")
        if number > most:
            raise argparse.ArgumentTypeError(
                f"{value!r} is more than {most:,.0f}; give at most {most:,.0f}"
            )
        return number

    return parse


def count(value: str) -> int:
    """A whole number from 0 to :data:`MOST_LISTED`."""
    text = value.strip().replace("_", "").replace(",", "")
    if not text.isdigit() or int(text) > MOST_LISTED:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a whole number from 0 to {MOST_LISTED:,}"
        )
    return int(text)


def text(what: str, example: str) -> Callable[[str], str]:
    """A value that must not be empty or blank, such as a workflow id or a namespace."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(
                f"{value!r} is empty; give {what}, for example {example}"
            )
        if any(ord(char) < 32 for char in value):
            raise argparse.ArgumentTypeError(
                f"{value!r} holds control characters; give {what}, for example {example}"
            )
        return value

    return parse


def symbols(value: str) -> str:
    """One ``--symbol`` value: tickers, comma-separated (the patterns module splits them)."""
    parts = [part.strip() for part in value.split(",")]
    for part in parts:
        if not SYMBOL.match(part):
            shown = "an empty symbol" if not part else repr(part)
            raise argparse.ArgumentTypeError(
                f"{value!r} holds {shown}, not a ticker; give symbols such as AAPL or BRK.B, comma-separated"
            )
    return value


def url(value: str) -> str:
    """An http(s) URL, such as a Web UI's."""
    if not re.match(r"^https?://[^\s/]+", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an http(s) URL; give one such as http://localhost:8233"
        )
    return value


def output_file(example: str) -> Callable[[str], Path]:
    """A file to write: not empty, not a directory, not under a file."""

    def parse(value: str) -> Path:
        if not value.strip():
            raise argparse.ArgumentTypeError(
                f"{value!r} is empty; give a file to write, such as {example}"
            )
        path = Path(value).expanduser()
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{value!r} is a directory; give a file in it, such as {path / example}"
            )
        # Missing directories are made; one that is a file cannot be.
        blocked = next(
            (parent for parent in path.parents if parent.exists() and not parent.is_dir()), None
        )
        if blocked is not None:
            raise argparse.ArgumentTypeError(
                f"{value!r} is under {str(blocked)!r}, which is a file, not a directory; choose another path"
            )
        return path

    return parse


def state_dir(value: str) -> str:
    """The state directory: not empty, and not an existing file."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            f"{value!r} is empty; give a directory, such as ./.trading-agents"
        )
    if Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a file, not a directory; give a directory")
    return value
