"""What a row is for each endpoint, the column presets, and a source record made a push row."""

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from referrals_push import values


@dataclass(slots=True)
class Row:
    """One row to push, and where it came from (`file:line`) for the reports."""

    data: dict
    origin: str


@dataclass(slots=True)
class BadRow:
    """An input row that could not be made a push row: reported, never sent."""

    origin: str
    message: str


@dataclass(frozen=True)
class Kind:
    """An endpoint's row: its path segment and the rules the client checks before sending."""

    name: str
    path: str
    texts: Mapping[str, int]  # field -> maximum length
    required: frozenset[str]
    counts: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return ("date", *self.texts, *self.counts, *self.amounts, *self.flags)


REFERRALS = Kind(
    name="referrals",
    path="ai-referrals",
    texts={"raw_referrer_value": 512, "raw_page_value": 2048, "batch_id": 128},
    required=frozenset({"date", "raw_referrer_value", "raw_page_value"}),
    counts=("pageviews", "sessions", "transactions"),
    amounts=("purchase_revenue",),
)
AGENTS = Kind(
    name="agents",
    path="agent-traffic",
    texts={"raw_user_agent": 1024, "raw_page_value": 2048, "batch_id": 128},
    required=frozenset({"date", "raw_user_agent", "raw_page_value", "hits"}),
    counts=("hits",),
    flags=("verified",),
)
KINDS = {kind.name: kind for kind in (REFERRALS, AGENTS)}

# Column names each tool writes, per field, the first present wins. Names are compared
# without case, spaces or punctuation: "Page Views" is "pageviews" is "page_views".
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    # Adobe Analytics Data Warehouse: the dimension and metric names as the report shows them.
    "adobe": {
        "date": ("Day", "Date"),
        "raw_referrer_value": ("Referring Domain", "Referrer", "Referring Domains"),
        "raw_page_value": ("Page URL", "Page", "Entry Page", "Entry Page URL"),
        "pageviews": ("Page Views", "Pageviews"),
        "sessions": ("Visits", "Sessions", "Entries"),
        "transactions": ("Orders",),
        "purchase_revenue": ("Revenue",),
    },
    # GA4: BigQuery export columns (flattened: traffic_source.source -> traffic_source_source),
    # the Data API's dimension and metric names, and the names of a GA4 report's CSV download.
    "ga4": {
        "date": ("event_date", "date"),
        "raw_referrer_value": (
            "sessionSource",
            "session_source",
            "collected_traffic_source_manual_source",
            "traffic_source_source",
            "source",
            "firstUserSource",
            "pageReferrer",
            "page_referrer",
        ),
        "raw_page_value": (
            "landingPage",
            "landing_page",
            "landingPagePlusQueryString",
            "Landing page + query string",
            "pagePath",
            "page_path",
            "Page path and screen class",
            "pagePathPlusQueryString",
            "page_location",
            "pageLocation",
            "fullPageUrl",
        ),
        "pageviews": ("screenPageViews", "page_views", "Views", "pageviews"),
        "sessions": ("sessions",),
        "transactions": ("transactions", "ecommercePurchases", "Ecommerce purchases", "purchases"),
        "purchase_revenue": (
            "purchaseRevenue",
            "purchase_revenue",
            "Purchase revenue",
            "totalRevenue",
            "Total revenue",
            "ecommerce_purchase_revenue",
        ),
    },
}
PRESET_NAMES = tuple(PRESETS)


def column_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@dataclass
class Columns:
    """Which source column feeds which field; the rest of the source's columns are not sent."""

    by_field: dict[str, str]
    unused: list[str] = field(default_factory=list)


def columns_resolve(
    header: Iterable[str], *, kind: Kind, preset: str | None, mapping: Mapping[str, str]
) -> Columns:
    """Fields from the header: explicit mapping first, then the preset, then the field's name.

    Raises ValueError naming the required fields no column feeds, and the columns there are.
    """
    header = list(header)
    present = {column_key(name): name for name in reversed(header)}  # the first of duplicates
    by_field: dict[str, str] = {}
    for name, column in mapping.items():
        if name not in kind.fields:
            raise ValueError(f"--map {name}=...: {kind.name} rows have no field {name!r}")
        if column_key(column) not in present:
            raise ValueError(f"--map {name}={column}: no column {column!r} in the header")
        by_field[name] = present[column_key(column)]
    candidates = PRESETS[preset] if preset else {}
    for name in kind.fields:
        if name in by_field:
            continue
        for candidate in (*candidates.get(name, ()), name):
            if column_key(candidate) in present:
                by_field[name] = present[column_key(candidate)]
                break
    missing = sorted(kind.required - by_field.keys())
    if missing:
        hint = f" (preset {preset})" if preset else ""
        raise ValueError(
            f"no column for {', '.join(missing)}{hint}; the header has: "
            f"{', '.join(header) or 'nothing'}. Name them with --map FIELD=COLUMN"
        )
    used = set(by_field.values())
    return Columns(by_field=by_field, unused=[name for name in header if name not in used])


def _converters(kind: Kind) -> tuple[tuple[str, Callable, bool], ...]:
    """(field, parser, required) per field of `kind`, made once per kind."""
    plan = _PLANS.get(kind.name)
    if plan is None:
        parsers: list[tuple[str, Callable, bool]] = []
        for name in kind.fields:
            if name == "date":
                parse = values.parse_date
            elif name in kind.counts:
                parse = values.parse_count
            elif name in kind.amounts:
                parse = values.parse_amount
            elif name in kind.flags:
                parse = values.parse_flag
            else:
                parse = functools.partial(
                    values.parse_text, limit=kind.texts[name], required=name in kind.required
                )
            parsers.append((name, parse, name in kind.required))
        plan = _PLANS[kind.name] = tuple(parsers)
    return plan


_PLANS: dict[str, tuple] = {}


def row_convert(record: Mapping, *, kind: Kind, columns: Columns | None) -> dict:
    """The push row of one source record, or ValueError saying which field is wrong and why.

    With `columns` (CSV, or a mapping given), only the mapped fields are sent; without, the
    record's own fields are converted and any other key is passed on for the server to name.
    """
    if columns is None:
        source = record
        row: dict = dict(record)
    else:
        source = {name: record.get(column) for name, column in columns.by_field.items()}
        row = {}
    for name, parse, required in _converters(kind):
        if name not in source:
            if required:
                raise ValueError(f"{name}: it is missing")
            continue
        try:
            value = parse(source[name])
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        if value is None:
            if required:
                raise ValueError(f"{name}: it is missing")
            row.pop(name, None)
        else:
            row[name] = value
    return row
