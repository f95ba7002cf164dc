"""The collection-rate trend as an inline SVG drawn here, from the daily report's snapshots: no script, no chart
library. The page gives it a title and a description, and the same figures as a table for a screen reader."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from propfee.domain.day_snapshot import DaySnapshot

WIDTH, HEIGHT = 600, 200  # the viewBox: the SVG scales to the page's width (a phone's 390 px included)
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28  # room for the axis' labels


@dataclass(frozen=True)
class TrendPoint:
    day: date
    rate: float  # the current period's paid over billed, as that night's report saw it
    x: float
    y: float


@dataclass(frozen=True)
class Trend:
    points: tuple[TrendPoint, ...]
    low: float  # the vertical axis, 0..1, rounded out to tenths around the rates
    high: float

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def gridlines(self) -> tuple[tuple[float, float], ...]:
        """(rate, y) of the horizontal lines, one per tenth between the axis' ends."""
        tenths = range(round(self.low * 10), round(self.high * 10) + 1)
        return tuple((t / 10, _y(t / 10, self.low, self.high)) for t in tenths)

    @property
    def first(self) -> TrendPoint | None:
        return self.points[0] if self.points else None

    @property
    def last(self) -> TrendPoint | None:
        return self.points[-1] if self.points else None


def _y(rate: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (rate - low) / span)


def trend(snapshots: Iterable[DaySnapshot]) -> Trend:
    """One point a day that had a rate (a day with nothing billed has none), oldest first, across the width."""
    known: list[tuple[date, float]] = sorted((s.day, r) for s in snapshots if (r := s.collection_rate) is not None)
    if not known:
        return Trend((), 0.0, 1.0)
    rates = [r for _d, r in known]
    low = max(0.0, math.floor(round(min(rates) * 10, 6)) / 10)  # the tenths at or around the lowest, highest
    high = min(1.0, math.ceil(round(max(rates) * 10, 6)) / 10)
    if high <= low:
        low, high = max(0.0, low - 0.1), min(1.0, high + 0.1)
    first, last = known[0][0], known[-1][0]
    days = (last - first).days or 1
    inner = WIDTH - LEFT - RIGHT
    points = tuple(
        TrendPoint(day, rate, LEFT + inner * ((day - first).days / days if len(known) > 1 else 0.5),
                   _y(rate, low, high))
        for day, rate in known
    )  # fmt: skip
    return Trend(points, low, high)
