"""CSV and XLSX file writers for downloads: a header, rows, and an attachment response.

Cells are written as given (None becomes an empty cell). Strings a spreadsheet would run as a
formula (starting with = + - @, or a tab or carriage return, per OWASP's CSV-injection advice)
get a leading apostrophe in both formats, because exported values (page URLs) are supplied by
clients. Characters XML cannot carry are dropped from XLSX cells (openpyxl refuses them).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"


def cell_safe(value: Any) -> Any:
    """Neutralize a string a spreadsheet would evaluate; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(*, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel detects the encoding), RFC 4180 line endings."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow([cell_safe(name) for name in header])
    for row in rows:
        writer.writerow([cell_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


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
