"""Number formatting for the dashboard (12,345 sessions, 1,842.50 revenue, 3.4 % rates), and
the daily chart's columns and text table.

A year's chart has 366 columns of up to 15 bars, and its text table 366 rows of 17 cells:
drawn with template loops they cost ~0.3 s of a 0.5 s page (12,000 variable nodes, each
resolved and escaped). They are joined here in one pass each; numbers and dates need no
escaping, every text (titles, colors) is escaped."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

NONE = "—"


def count(value) -> str:
    return NONE if value is None else f"{int(value):,}"


def money(value) -> str:
    """Revenue with two decimals; the data carries no currency, so none is shown."""
    if value is None:
        return NONE
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def percent(ratio, digits: int = 1) -> str:
    """A ratio (0.034) as a percentage (3.4%); None (no denominator) as a dash."""
    if ratio is None:
        return NONE
    return f"{float(ratio) * 100:.{int(digits)}f}%"


def svg_bars(bars, fills: dict[str, str]) -> str:
    """A column's <rect> elements (format_html cost ~0.1 s a year: an escape per attribute);
    `fills` maps each color to its escaped text (a year has ~5,500 bars of ~15 colors)."""
    return "".join(
        f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" '
        f'fill="{fills[bar.color]}"></rect>'
        for bar in bars
    )


def svg_columns(chart) -> str:
    """Every column of a StackedBarChart: a group with its date, total and title (the tooltip),
    a hit area as tall as the plot, and its bars."""
    colors = {bar.color for col in chart.columns for bar in col.bars}
    fills = {color: escape(color) for color in colors}
    return mark_safe(
        "".join(
            f'<g class="chart-day" data-date="{col.day.isoformat()}" data-total="{col.total}">'
            f"<title>{escape(col.title)}</title>"
            f'<rect class="chart-hit" x="{col.x}" y="{chart.top}" width="{col.width}" '
            f'height="{chart.plot_height}"></rect>{svg_bars(col.bars, fills)}</g>'
            for col in chart.columns
        )
    )


def chart_table_rows(chart) -> str:
    """The rows of a chart's text table: the day, each series' value, the total, and the
    previous period's total when the chart overlays it."""
    # A year's table has ~6,000 cells of few distinct values (mostly 0): each formatted once.
    formatted: dict[int, str] = {}

    def cell(value: int) -> str:
        text = formatted.get(value)
        if text is None:
            text = formatted[value] = f'<td class="num">{count(value)}</td>'
        return text

    rows = []
    for col in chart.columns:
        cells = [*col.values, col.total, *((col.previous,) if chart.has_overlay else ())]
        numbers = "".join(map(cell, cells))
        rows.append(f'<tr><th scope="row">{col.day.isoformat()}</th>{numbers}</tr>')
    return mark_safe("".join(rows))
