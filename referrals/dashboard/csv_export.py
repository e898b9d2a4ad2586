"""CSV export of a dashboard view: one row per day x platform x page, streamed.

UTF-8 with a byte-order mark so Excel opens it as UTF-8. Text cells starting with = + - @
(or a tab or carriage return) get a leading apostrophe so a spreadsheet never runs them as a
formula (OWASP "CSV injection"). Numbers are written as numbers, revenue with its stored
precision (trailing zeros dropped).
"""

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

BOM = "\ufeff"
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
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024


class _Echo:
    """A file-like object whose write() hands the line back to the csv writer's caller."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def csv_lines(rows: Iterable[dict], *, website: str) -> Iterator[bytes]:
    """Encoded CSV: the BOM and header first, then the rows, in chunks of about 64 KiB."""
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow(HEADER)).encode("utf-8")
    site = safe_cell(website)
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        line = writer.writerow(
            (
                row["date"].isoformat(),
                site,
                safe_cell(row["platform__name"]),
                safe_cell(row["page__raw_page_value"]),
                safe_cell(row["page__url"]),
                row["sum_sessions"],
                row["sum_pageviews"],
                row["sum_transactions"],
                decimal_text(Decimal(row["sum_revenue"])),
            )
        )
        # Lone surrogates cannot be stored by PostgreSQL; on SQLite they are replaced.
        encoded = line.encode("utf-8", "replace")
        chunk.append(encoded)
        size += len(encoded)
        if size >= CHUNK_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def export_filename(*, brand_id: int, website: str, start, end) -> str:
    return f"ai-traffic-{brand_id}-{website}-{start.isoformat()}-{end.isoformat()}.csv"
