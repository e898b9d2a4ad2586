"""CSV and XLSX writers of every download: a header, rows, streamed or as an attachment.

Cells are written as given (None becomes an empty cell). UTF-8 CSV starts with a byte-order
mark so Excel opens it as UTF-8; characters that cannot be encoded (a lone surrogate, which
SQLite can store) are replaced. Strings a spreadsheet would run as a
formula (starting with = + - @, or a tab or carriage return, per OWASP's CSV-injection advice)
get a leading apostrophe in both formats, because exported values (page URLs) are supplied by
clients. Characters XML cannot carry are dropped from XLSX cells (openpyxl refuses them).
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"
CHUNK_BYTES = 64 * 1024


class _Echo:
    """A file-like object whose write() hands the line back to the csv writer's caller."""

    def write(self, value: str) -> str:
        return value


def cell_safe(value: Any) -> Any:
    """Neutralize a string a spreadsheet would evaluate; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_chunks(
    *, header: Sequence[str], rows: Iterable[Sequence[Any]], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """Encoded CSV, RFC 4180 line endings: the BOM and header first, then the rows in chunks
    of about `chunk_bytes` (a streaming response never holds the whole file)."""
    writer = csv.writer(_Echo())
    yield (UTF8_BOM + writer.writerow([cell_safe(name) for name in header])).encode("utf-8")
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        line = writer.writerow([cell_safe(value) for value in row]).encode("utf-8", "replace")
        chunk.append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def csv_bytes(*, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return b"".join(csv_chunks(header=header, rows=rows))


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return cell_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def xlsx_bytes(
    *, header: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str = "Export"
) -> bytes:
    """One worksheet: the header row, then the rows (write-only mode keeps memory flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append([_xlsx_cell(name) for name in header])
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(
    *,
    file_format: str,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "Export",
) -> HttpResponse:
    """An attachment named `{filename}.{file_format}`; file_format is 'csv' or 'xlsx'."""
    if file_format == "xlsx":
        content = xlsx_bytes(header=header, rows=rows, sheet_title=sheet_title)
    elif file_format == "csv":
        content = csv_bytes(header=header, rows=rows)
    else:
        raise ValueError(f"unknown export format {file_format!r}")
    response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    return response
