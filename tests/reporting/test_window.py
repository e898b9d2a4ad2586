"""The one window parser of every read: day format, defaults, maximum, buckets."""

from datetime import date

import pytest

from referrals.reporting.window import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    Window,
    WindowError,
    day_parse,
    window_resolve,
)

END = date(2026, 5, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-28", date(2026, 5, 28)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2026-02-29", None),
        ("2026-5-28", None),
        ("20260528", None),
        ("2026-W21-4", None),
        ("2026-05-28T00:00", None),
        ("٢٠٢٦-٠٥-٢٨", None),  # non-ASCII digits
        ("", None),
    ],
)
def test_day_parse(text, expected):
    assert day_parse(text) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, Window(date(2026, 4, 29), END)),
        (date(2026, 5, 1), None, Window(date(2026, 5, 1), END)),
        (None, date(2026, 3, 30), Window(date(2026, 3, 1), date(2026, 3, 30))),
        (date(2025, 5, 28), END, Window(date(2025, 5, 28), END)),  # 366 days
        (END, END, Window(END, END)),
        (None, date(1, 1, 5), Window(date(1, 1, 1), date(1, 1, 5))),  # date.min bounds it
    ],
)
def test_window_defaults(start, end, expected):
    assert window_resolve(start=start, end=end, default_end=END) == expected
    assert DEFAULT_WINDOW_DAYS == 30 and MAX_WINDOW_DAYS == 366


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2026, 5, 29), None, WindowError.END_BEFORE_START),
        (date(2026, 5, 2), date(2026, 5, 1), WindowError.END_BEFORE_START),
        (date(2025, 5, 27), END, WindowError.TOO_LONG),  # 367 days
    ],
)
def test_windows_refused(start, end, code):
    with pytest.raises(WindowError) as refused:
        window_resolve(start=start, end=end, default_end=END)
    assert refused.value.code == code
    assert refused.value.field == "end_date"


def test_previous_window_has_the_same_length_and_ends_the_day_before():
    window = Window(date(2026, 5, 1), END)
    assert window.previous == Window(date(2026, 4, 3), date(2026, 4, 30))


def test_buckets_are_daily_up_to_90_days_then_weekly_by_monday():
    assert Window(date(2026, 3, 1), date(2026, 5, 29)).granularity == "daily"
    weekly = Window(date(2026, 3, 4), date(2026, 6, 3))  # a Wednesday to a Wednesday
    assert weekly.granularity == "weekly"
    assert weekly.buckets()[0] == date(2026, 3, 2) and weekly.buckets()[-1] == date(2026, 6, 1)
    assert weekly.first_bucket() == (date(2026, 3, 4), date(2026, 3, 8))
    assert weekly.last_bucket() == (date(2026, 6, 1), date(2026, 6, 3))
