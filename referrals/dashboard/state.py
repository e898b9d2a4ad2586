"""The dashboard's view state: read from the query string, written back into its links.

Decisions where the spec is silent:
- A `brand` that is not a positive integer, does not exist or is not visible to the user is
  a 404 with the same page either way (never reveal other organizations' brands).
- Every other bad parameter is forgiven: the page says what was wrong and uses the default
  (an over-long range is cut to the 366 days ending at the requested end date).
- The window follows the read API's rules (referrals.reporting.window), except that without
  an end date it ends on the latest day with data, so a quiet website still shows its numbers.
- Exploring filters (SPEC "Exploring"): `platform=<slug>` must name an AI platform (an unknown
  slug is dropped with a notice); `path_prefix` must start with "/" as in the Sitemap API (a
  trailing slash is dropped: `/blog/` is `/blog`, and `/` alone means every path page);
  `priority=1` keeps priority pages; `compare=1` overlays the previous period on the charts
  (a flag value other than 1/true/yes/on or 0/false/no/off is dropped with a notice).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.dashboard.selectors import SORT_FIELDS
from referrals.reporting.window import (
    MAX_WINDOW_DAYS,
    Window,
    WindowError,
    day_parse,
    window_resolve,
)
from referrals.tenancy.scoping import id_parse

PAGE_SIZE = 25
DEFAULT_SORT = "sessions"
# Far enough apart for any real data, close enough that date arithmetic never overflows.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9000, 12, 31)

INVALID_DATE = "“{value}” is not a valid {name} (use YYYY-MM-DD); showing the default range."
DATES_REVERSED = "The start date is after the end date; showing the default range."
WINDOW_TOO_LONG = "A range covers at most 366 days; showing the 366 days ending {end}."
UNKNOWN_WEBSITE = "This brand has no connection for “{value}”; showing {website} instead."
NO_WEBSITE = "This brand has no connection for “{value}” (nor for any website yet)."
INVALID_SORT = "Pages cannot be sorted by “{value}”; sorted by sessions instead."
INVALID_PAGE = "“{value}” is not a page number; showing the first page."
UNKNOWN_PLATFORM = "“{value}” is not an AI platform; showing every platform."
INVALID_PATH_PREFIX = "“{value}” is not a path prefix (it must start with /); showing every page."
MAX_PATH_PREFIX = 2048  # the Sitemap API's bound
FLAGS = ("1", "true", "yes", "on")
FLAGS_OFF = ("", "0", "false", "no", "off")
INVALID_FLAG = "“{value}” is not a value of {name} (use {name}=1 or leave it out); {default}."


@dataclass(frozen=True)
class ViewState:
    """What the page shows; `query()` gives the query string of this view or a variant of it."""

    brand_id: int
    website: str | None
    start: date
    end: date
    sort: str = DEFAULT_SORT
    page: int = 1
    priority: bool = False  # priority pages only (PriorityPath)
    platform: str | None = None  # an AIPlatform slug
    path_prefix: str | None = None  # a segment-aligned path prefix, as the Sitemap API's
    compare: bool = False  # overlay the previous period on the daily charts

    @property
    def page_filtered(self) -> bool:
        """Whether the view keeps some pages only (path prefix or priority)."""
        return bool(self.path_prefix) or self.priority

    @property
    def filtered(self) -> bool:
        return self.page_filtered or bool(self.platform)

    @property
    def window(self) -> Window:
        return Window(start=self.start, end=self.end)

    @property
    def days(self) -> int:
        return self.window.days

    def query(self, **changes) -> str:
        state = replace(self, **changes)
        params = {"brand": state.brand_id}
        if state.website:
            params["website"] = state.website
        params |= {"start_date": state.start.isoformat(), "end_date": state.end.isoformat()}
        if state.sort != DEFAULT_SORT:
            params["sort"] = state.sort
        if state.page != 1:
            params["page"] = state.page
        if state.platform:
            params["platform"] = state.platform
        if state.path_prefix:
            params["path_prefix"] = state.path_prefix
        if state.priority:
            params["priority"] = 1
        if state.compare:
            params["compare"] = 1
        return urlencode(params)

    def export_query(self) -> str:
        return self.query(sort=DEFAULT_SORT, page=1, compare=False)

    def page_query(self, page_id: int) -> str:
        """The query string of a page's own view (`page` is the page's id there)."""
        return self.query(sort=DEFAULT_SORT, page=1) + "&" + urlencode({"page": page_id})

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The filters a form that sets other fields (dates, website) must carry along."""
        fields = [("platform", self.platform), ("path_prefix", self.path_prefix)]
        fields += [
            ("priority", "1" if self.priority else ""),
            ("compare", "1" if self.compare else ""),
        ]
        return [(name, value) for name, value in fields if value]

    def with_days(self, days: int) -> str:
        """A preset range of `days` ending at this view's end date."""
        return self.query(start=self.end - timedelta(days=days - 1), page=1)


def parse_brand_id(value: str | None) -> int | None:
    """A brand id, or None (which the view turns into a 404)."""
    return id_parse(value) if value is not None else None


def resolve_website(
    value: str | None, *, websites: list[str], default: str | None
) -> tuple[str | None, list[str]]:
    """The requested website in canonical form when the brand has a connection for it."""
    if not value:
        return default, []
    try:
        website = website_canonical(value)
    except InvalidWebsite:
        website = None
    if website in websites:
        return website, []
    message = UNKNOWN_WEBSITE if default else NO_WEBSITE
    return default, [message.format(value=value[:200], website=default)]


def _parse_date(value: str, name: str, messages: list[str]) -> date | None:
    day = day_parse(value)
    if day is None or not MIN_DATE <= day <= MAX_DATE:
        messages.append(INVALID_DATE.format(value=value[:40], name=name))
        return None
    return day


def resolve_window(
    start_value: str | None,
    end_value: str | None,
    *,
    latest: Callable[[], date | None],
    today: date,
) -> tuple[Window, list[str]]:
    """The inclusive date window; `latest` (a query) runs only when a default end is needed."""
    messages: list[str] = []
    start = _parse_date(start_value, "start date", messages) if start_value else None
    end = _parse_date(end_value, "end date", messages) if end_value else None
    if messages:
        start = end = None
    default_end = end or latest() or today
    try:
        return window_resolve(start=start, end=end, default_end=default_end), messages
    except WindowError as exc:
        if exc.code == WindowError.TOO_LONG:
            end = end or default_end
            messages.append(WINDOW_TOO_LONG.format(end=end.isoformat()))
            return Window(start=end - timedelta(days=MAX_WINDOW_DAYS - 1), end=end), messages
        messages.append(DATES_REVERSED)
        fallback_end = default_end if end is None else latest() or today
        return window_resolve(start=None, end=None, default_end=fallback_end), messages


def resolve_sort(value: str | None) -> tuple[str, list[str]]:
    if not value or value in SORT_FIELDS:
        return value or DEFAULT_SORT, []
    return DEFAULT_SORT, [INVALID_SORT.format(value=value[:40])]


def resolve_page(value: str | None) -> tuple[int, list[str]]:
    if not value:
        return 1, []
    if value.isascii() and value.isdigit() and 0 < int(value) < 10**9:
        return int(value), []
    return 1, [INVALID_PAGE.format(value=value[:40])]


def resolve_flag(value: str | None, *, name: str, default: str) -> tuple[bool, list[str]]:
    """`name=1` (or true/yes/on) turns a flag on, 0/false/no/off or nothing leaves it off;
    anything else (`priority=2`) leaves it off with a notice saying so (`default`)."""
    folded = (value or "").strip().lower()
    if folded in FLAGS:
        return True, []
    if folded in FLAGS_OFF:
        return False, []
    return False, [INVALID_FLAG.format(value=value[:40], name=name, default=default)]


def resolve_platform(
    value: str | None, *, slugs: Callable[[], dict[str, str]]
) -> tuple[str | None, list[str]]:
    """A known platform slug (`slugs`, a query, runs only when one is asked for), or None."""
    if not value:
        return None, []
    if value in slugs():
        return value, []
    return None, [UNKNOWN_PLATFORM.format(value=value[:100])]


def resolve_path_prefix(value: str | None) -> tuple[str | None, list[str]]:
    """A segment-aligned prefix without its trailing slash ("/" for every path page), or None."""
    if not value:
        return None, []
    if (
        not value.startswith("/")
        or len(value) > MAX_PATH_PREFIX
        or any(ord(c) < 32 or c in "?#" for c in value)
    ):
        return None, [INVALID_PATH_PREFIX.format(value=value[:100])]
    return value.rstrip("/") or "/", []
