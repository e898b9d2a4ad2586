"""CSV exports of a dashboard view, streamed: referrals (one row per day x platform x page) and
AI agents (one row per day x agent x page).

Cells go through the shared writer (referrals.reporting.files: BOM, formula guard); numbers are
written as numbers, revenue with its stored precision (trailing zeros dropped).
"""

from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from referrals.reporting.files import csv_chunks

HEADER = (
    "date",
    "website",
    "platform",
    "page",
    "url",
    "sessions",
    "pageviews",
    "transactions",
    "revenue",
)


def decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def csv_lines(rows: Iterable[dict], *, website: str) -> Iterator[bytes]:
    """The export's encoded chunks, from rows of dashboard_export_rows."""
    cells = (
        (
            row["date"].isoformat(),
            website,
            row["platform__name"],
            row["page__raw_page_value"],
            row["page__url"],
            row["sum_sessions"],
            row["sum_pageviews"],
            row["sum_transactions"],
            decimal_text(Decimal(row["sum_revenue"])),
        )
        for row in rows
    )
    return csv_chunks(header=HEADER, rows=cells)


AGENT_HEADER = (
    "date",
    "website",
    "agent",
    "purpose",
    "platform",
    "page",
    "url",
    "hits",
    "verified_hits",
)


def agent_csv_lines(rows: Iterable[dict], *, website: str) -> Iterator[bytes]:
    """The AI-agents export's encoded chunks, from rows of agents.agent_export_rows."""
    cells = (
        (
            row["date"].isoformat(),
            website,
            row["agent__name"],
            row["agent__purpose"],
            row["agent__platform__name"],
            row["page__raw_page_value"],
            row["page__url"],
            row["sum_hits"],
            row["sum_verified"],
        )
        for row in rows
    )
    return csv_chunks(header=AGENT_HEADER, rows=cells)


def export_filename(
    *, brand_id: int, website: str, start: date, end: date, prefix: str = "ai-traffic"
) -> str:
    return f"{prefix}-{brand_id}-{website}-{start.isoformat()}-{end.isoformat()}.csv"
