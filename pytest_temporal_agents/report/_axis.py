"""The time axis of a workflow's chart: workflow time to a position, with long idle gaps cut.

A workflow that sleeps three days between two 10 ms activities would, drawn to scale, be
one long timer and two invisible slivers. So the axis is to scale except for a gap that is
far longer than everything else put together: that gap is drawn shorter, and the chart
marks the cut with its real length.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

#: A gap is cut when it is longer than this many times the rest of the axis, and...
CUT_RATIO = 3.0
#: ...at least this long in seconds (a fast workflow is always drawn to scale).
CUT_MIN_SECONDS = 1.0
#: A cut gap is drawn this fraction of the rest of the axis long.
CUT_DRAWN_AS = 0.5


@dataclass(frozen=True)
class Cut:
    """A gap drawn shorter than it was: where it is drawn (percent) and how long it was."""

    left: float
    right: float
    seconds: float


class Axis:
    """Maps workflow time (seconds since the run started) to a percentage of the chart width.

    Args:
        points: every moment the chart draws (starts, ends, marks); 0 is added.
    """

    def __init__(self, points: Iterable[float]) -> None:
        times = sorted({0.0, *(max(p, 0.0) for p in points)})
        gaps = [b - a for a, b in pairwise(times)]
        drawn = list(gaps)
        cut: set[int] = set()
        for index in sorted(range(len(gaps)), key=lambda i: -gaps[i]):
            rest = sum(drawn) - drawn[index]
            if rest <= 0 or gaps[index] < CUT_MIN_SECONDS or gaps[index] <= CUT_RATIO * rest:
                break
            drawn[index] = rest * CUT_DRAWN_AS
            cut.add(index)
        total = sum(drawn)
        self._times = times
        self._positions = [0.0]
        for width in drawn:
            self._positions.append(self._positions[-1] + (width / total * 100 if total else 0.0))
        self.end = times[-1]
        self.cuts = [Cut(self._positions[i], self._positions[i + 1], gaps[i]) for i in sorted(cut)]
        #: Where each cut ends, in workflow time: later ticks count from there.
        self._cut_ends = [times[i + 1] for i in sorted(cut)]

    def at(self, seconds: float) -> float:
        """The position (0 to 100) of a moment."""
        times, positions = self._times, self._positions
        if len(times) == 1 or seconds <= 0:
            return 0.0
        if seconds >= times[-1]:
            return 100.0
        index = bisect_right(times, seconds) - 1
        span = times[index + 1] - times[index]
        share = (seconds - times[index]) / span if span else 0.0
        return positions[index] + share * (positions[index + 1] - positions[index])

    def time_at(self, position: float) -> float:
        """The moment drawn at a position: the inverse of :meth:`at`, for tick labels."""
        times, positions = self._times, self._positions
        if len(times) == 1:
            return 0.0
        index = min(bisect_right(positions, position) - 1, len(times) - 2)
        index = max(index, 0)
        span = positions[index + 1] - positions[index]
        share = (position - positions[index]) / span if span else 0.0
        return times[index] + share * (times[index + 1] - times[index])

    def ticks(self, count: int = 6) -> list[tuple[float, str]]:
        """``count`` evenly placed ``(position, label)`` ticks, none inside a cut.

        After a cut a tick reads ``2 h + 14 ms``: hours after the start, the milliseconds
        that matter would all round to the same label.
        """
        found = []
        for n in range(count):
            position = 100.0 * n / (count - 1)
            if any(c.left < position < c.right for c in self.cuts):
                continue
            seconds = self.time_at(position)
            since = [end for cut, end in zip(self.cuts, self._cut_ends) if cut.right <= position]
            if since and seconds > since[-1]:
                label = f"{format_seconds(since[-1])} + {format_seconds(seconds - since[-1])}"
            else:
                label = format_seconds(seconds)
            found.append((position, label))
        return found


def format_seconds(seconds: float) -> str:
    """``0``, ``12 ms``, ``1.5 s``, ``3 min``, ``2.0 h``, ``3.0 d``: a tick label."""
    if seconds <= 0:
        return "0"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    if seconds < 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} d"
