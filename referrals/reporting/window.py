"""The date window of every read: one parser, one default length, one maximum, its buckets.

Decisions where the spec is silent:
- Days are written `YYYY-MM-DD` and nothing else (not `2026-5-1`, not `20260501`).
- Without `end_date` the window ends on the caller's default end (today, UTC, for the API;
  the latest day with data for the dashboard); without `start_date` it is the
  DEFAULT_WINDOW_DAYS ending on its end.
- Weekly buckets are dated by their Monday; the first and last weeks may be partial (only
  days inside the window count).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
MAX_DAILY_DAYS = 90

END_BEFORE_START = "end_date (default: today, UTC) must not be before start_date."
WINDOW_TOO_LONG = "start_date to end_date spans {days} days; at most 366 are allowed."

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class WindowError(ValueError):
    """A window the reads refuse: `code` says why, `field` names the parameter to blame."""

    END_BEFORE_START = "end_before_start"
    TOO_LONG = "too_long"

    def __init__(self, code: str, message: str, field: str = "end_date"):
        super().__init__(message)
        self.code = code
        self.field = field


def today_utc() -> date:
    return timezone.now().date()


def day_parse(text: str) -> date | None:
    """A `YYYY-MM-DD` calendar day, or None."""
    if not _ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Window:
    """Inclusive date range of a read, with the bucket size of its series."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Window":
        """The window of equal length just before this one."""
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def granularity(self) -> str:
        return "daily" if self.days <= MAX_DAILY_DAYS else "weekly"

    @property
    def _step(self) -> int:
        return 1 if self.granularity == "daily" else 7

    def bucket_of(self, day: date) -> date:
        return day if self._step == 1 else day - timedelta(days=day.weekday())

    def buckets(self) -> list[date]:
        first = self.bucket_of(self.start)
        count = (self.bucket_of(self.end) - first).days // self._step + 1
        return [first + timedelta(days=i * self._step) for i in range(count)]

    def first_bucket(self) -> tuple[date, date]:
        """Days of the first bucket that lie inside the window."""
        if self._step == 1:
            return self.start, self.start
        return self.start, min(self.end, self.bucket_of(self.start) + timedelta(days=6))

    def last_bucket(self) -> tuple[date, date]:
        return max(self.start, self.bucket_of(self.end)), self.end


def window_resolve(*, start: date | None, end: date | None, default_end: date) -> Window:
    """The window a read asked for, with the defaults filled in; WindowError when refused."""
    end = end or default_end
    if start is None:
        # date.min bounds the arithmetic.
        start = end - timedelta(days=min(DEFAULT_WINDOW_DAYS - 1, end.toordinal() - 1))
    if end < start:
        raise WindowError(WindowError.END_BEFORE_START, END_BEFORE_START)
    window = Window(start=start, end=end)
    if window.days > MAX_WINDOW_DAYS:
        raise WindowError(WindowError.TOO_LONG, WINDOW_TOO_LONG.format(days=window.days))
    return window
