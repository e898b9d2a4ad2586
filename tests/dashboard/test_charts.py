"""SVG chart geometry: pure functions, no database."""

from datetime import date, timedelta
from itertools import pairwise

import pytest

from referrals.dashboard.charts import (
    Series,
    compact_number,
    nice_step,
    short_day,
    stacked_bars,
)


@pytest.mark.parametrize(
    ("raw", "step"),
    [
        (0, 1),
        (0.3, 1),
        (1, 1),
        (1.2, 2),
        (2, 2),
        (2.1, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (4999, 5000),
    ],
)
def test_nice_step(raw, step):
    assert nice_step(raw) == step


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (950, "950"),
        (1000, "1k"),
        (1250, "1.2k"),
        (2_000_000, "2M"),
        (3_500_000_000, "3.5B"),
    ],
)
def test_compact_number(value, text):
    assert compact_number(value) == text


def days(n, start=date(2026, 5, 1)):
    return [start + timedelta(days=i) for i in range(n)]


def test_every_day_gets_a_column_and_bars_stack_bottom_up():
    chart = stacked_bars(
        days=days(3),
        series=[Series("A", "#111", [4, 0, 2]), Series("B", "#222", [4, 0, 0])],
        width=400,
        height=200,
        y_ticks=4,
    )
    assert len(chart.columns) == 3
    assert chart.max_value == 8  # max total 8 -> step 2 x 4 ticks
    first, empty, third = chart.columns
    assert [bar.color for bar in first.bars] == ["#111", "#222"]
    a, b = first.bars
    assert a.y + a.height == pytest.approx(chart.bottom)  # the first series sits on the axis
    assert b.y + b.height == pytest.approx(a.y)  # the next one on top of it
    assert a.height + b.height == pytest.approx(chart.bottom - chart.top)  # 8 of 8: full height
    assert empty.bars == [] and empty.total == 0
    assert third.bars[0].height == pytest.approx((chart.bottom - chart.top) / 4)
    assert first.title == "2026-05-01: 8 AI sessions — A 4, B 4"
    assert empty.title == "2026-05-02: 0 AI sessions"


def test_columns_fill_the_plot_width_without_overlap():
    chart = stacked_bars(days=days(28), series=[Series("A", "#111", [1] * 28)])
    slots = [(c.x, c.x + c.width) for c in chart.columns]
    assert slots[0][0] == pytest.approx(chart.left)
    assert slots[-1][1] == pytest.approx(chart.right, abs=0.05)
    assert all(
        left_end <= right_start + 0.02  # coordinates are rounded to 0.01
        for (_, left_end), (right_start, _) in pairwise(slots)
    )
    for column in chart.columns:
        (bar,) = column.bars
        assert column.x <= bar.x and bar.x + bar.width <= column.x + column.width + 0.01


def test_y_ticks_are_round_and_evenly_spaced():
    chart = stacked_bars(days=days(2), series=[Series("A", "#111", [37, 1234])])
    assert [t.value for t in chart.y_ticks] == [0, 500, 1000, 1500, 2000]
    assert [t.label for t in chart.y_ticks] == ["0", "500", "1k", "1.5k", "2k"]
    assert chart.y_ticks[0].y == pytest.approx(chart.bottom)
    assert chart.y_ticks[-1].y == pytest.approx(chart.top)


def test_all_zero_data_still_has_an_axis():
    chart = stacked_bars(days=days(7), series=[Series("A", "#111", [0] * 7)])
    assert chart.max_value == 4 and [t.value for t in chart.y_ticks] == [0, 1, 2, 3, 4]
    assert all(c.bars == [] for c in chart.columns)


@pytest.mark.parametrize(("n", "labels"), [(1, 1), (7, 7), (8, 8), (28, 7), (90, 8), (366, 8)])
def test_x_labels_are_few_and_start_on_the_first_day(n, labels):
    chart = stacked_bars(days=days(n), series=[Series("A", "#111", [1] * n)])
    assert len(chart.x_labels) == labels
    assert chart.x_labels[0].label == short_day(date(2026, 5, 1)) == "May 1"


def test_a_series_of_the_wrong_length_is_an_error():
    with pytest.raises(ValueError, match="has 2 values for 3 days"):
        stacked_bars(days=days(3), series=[Series("A", "#111", [1, 2])])


def test_no_days_no_columns():
    chart = stacked_bars(days=[], series=[])
    assert chart.columns == [] and chart.x_labels == []
