"""Geometry of the dashboard's stacked daily bar chart, computed server-side for inline SVG.

Pure functions, no Django: the template only draws the rectangles and labels computed here.
Every day of the window gets a column (zero-filled), so gaps in the data stay visible.
The previous period can be overlaid as a line (its day i over this period's day i).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

WIDTH = 960
HEIGHT = 300
MARGIN_LEFT = 64
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 44
Y_TICKS = 4
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[int]


class Bar(NamedTuple):
    """A tuple: a year's chart has ~5,500 of them (a frozen dataclass cost 3x as much)."""

    x: float
    y: float
    width: float
    height: float
    color: str


@dataclass(frozen=True)
class Column:
    day: date
    x: float
    width: float
    total: int
    title: str
    bars: list[Bar]
    values: tuple[int, ...] = ()  # each series' value, for the chart's text table
    previous: int | None = None  # the overlaid previous period's value of the same day


@dataclass(frozen=True)
class Tick:
    value: int
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class StackedBarChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    columns: list[Column]
    y_ticks: list[Tick]
    x_labels: list[XLabel]
    max_value: int
    series_names: tuple[str, ...] = ()
    overlay_points: str = ""  # SVG polyline points of the previous period, "" without it

    @property
    def has_overlay(self) -> bool:
        return bool(self.overlay_points)

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def y_label_x(self) -> float:
        return self.left - 8

    @property
    def x_label_y(self) -> float:
        return self.bottom + 18

    @property
    def x_title_y(self) -> float:
        return self.height - 4

    @property
    def mid_x(self) -> float:
        return round((self.left + self.right) / 2, 2)

    @property
    def mid_y(self) -> float:
        return round((self.top + self.bottom) / 2, 2)


def nice_step(raw: float) -> int:
    """The smallest of 1, 2, 5 x 10^k that is >= raw, and at least 1 (the values are counts)."""
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return int(multiple * magnitude)
    raise AssertionError("unreachable")  # pragma: no cover


def compact_number(value: int) -> str:
    """Axis labels: 950, 1.2k, 3M."""
    for threshold, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if value >= threshold:
            text = f"{value / threshold:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(value)


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"


def _column_title(
    day: date, names: Sequence[str], values: Sequence[int], total: int, unit: str = "AI session"
) -> str:
    parts = [f"{name} {value:,}" for name, value in zip(names, values, strict=True) if value]
    head = f"{day.isoformat()}: {total:,} {unit}{'' if total == 1 else 's'}"
    return f"{head} — {', '.join(parts)}" if parts else head


def stacked_bars(
    *,
    days: Sequence[date],
    series: Sequence[Series],
    width: int = WIDTH,
    height: int = HEIGHT,
    y_ticks: int = Y_TICKS,
    max_x_labels: int = MAX_X_LABELS,
    unit: str = "AI session",
    overlay: Sequence[int] | None = None,
) -> StackedBarChart:
    """Stack each series' value per day, first series at the bottom; `overlay` (one value a
    day, the previous period's) is drawn as a line over the bars.

    The y axis runs from 0 to a round number (`y_ticks` equal steps of 1, 2 or 5 x 10^k);
    at most `max_x_labels` day labels, evenly spaced, always including the first day.
    """
    for s in series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(days)} days")
    left, right = float(MARGIN_LEFT), float(width - MARGIN_RIGHT)
    top, bottom = float(MARGIN_TOP), float(height - MARGIN_BOTTOM)
    if overlay is not None and len(overlay) != len(days):
        raise ValueError(f"overlay has {len(overlay)} values for {len(days)} days")
    # Each day's values, one per series: a year of 15 platforms is 5,500 of them.
    per_day = list(zip(*(s.values for s in series), strict=True)) if series else [()] * len(days)
    names = [s.name for s in series]
    totals = [sum(values) for values in per_day]
    highest = max([*totals, *(overlay or ())], default=0)
    step = nice_step(highest / y_ticks)
    max_value = step * y_ticks
    scale = (bottom - top) / max_value
    slot = (right - left) / len(days) if days else 0.0
    gap = slot * 0.2 if slot >= 4 else 0.0

    colors = [s.color for s in series]
    bar_width = round(slot - gap, 2)
    columns = []
    for i, (day, values) in enumerate(zip(days, per_day, strict=True)):
        x = left + i * slot
        bar_x = round(x + gap / 2, 2)
        bars, base = [], bottom
        for value, color in zip(values, colors, strict=True):
            if value <= 0:
                continue
            bar_height = value * scale
            base -= bar_height
            bars.append(Bar(bar_x, round(base, 2), bar_width, round(bar_height, 2), color))
        columns.append(
            Column(
                day=day,
                x=round(x, 2),
                width=round(slot, 2),
                total=totals[i],
                title=_column_title(day, names, values, totals[i], unit)
                + (f" (previous period: {overlay[i]:,})" if overlay is not None else ""),
                bars=bars,
                values=values,
                previous=overlay[i] if overlay is not None else None,
            )
        )
    overlay_points = ""
    if overlay is not None and days:
        overlay_points = " ".join(
            f"{round(left + (i + 0.5) * slot, 2)},{round(bottom - value * scale, 2)}"
            for i, value in enumerate(overlay)
        )

    ticks = [
        Tick(value=step * k, y=round(bottom - step * k * scale, 2), label=compact_number(step * k))
        for k in range(y_ticks + 1)
    ]
    every = max(1, math.ceil(len(days) / max_x_labels))
    x_labels = [
        XLabel(x=round(left + (i + 0.5) * slot, 2), label=short_day(day))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return StackedBarChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        columns=columns,
        y_ticks=ticks,
        x_labels=x_labels,
        max_value=max_value,
        series_names=tuple(s.name for s in series),
        overlay_points=overlay_points,
    )
