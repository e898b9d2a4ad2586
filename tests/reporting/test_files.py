"""CSV/XLSX writers: BOM, empty cells, formula neutralization, characters XML cannot carry."""

import io
from decimal import Decimal

import openpyxl
import pytest

from referrals.reporting.files import (
    cell_safe,
    csv_bytes,
    csv_chunks,
    export_response,
    xlsx_bytes,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (-1, -1),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_cell_safe(value, expected):
    assert cell_safe(value) == expected


def test_csv_bytes():
    content = csv_bytes(header=["name", "=n"], rows=[['é, "x"', None], ["-1", -1.5]])
    assert content == b'\xef\xbb\xbfname,\'=n\r\n"\xc3\xa9, ""x""",\r\n\'-1,-1.5\r\n'


def test_xlsx_bytes():
    content = xlsx_bytes(
        header=["name", "value"],
        rows=[["=cmd|' /C calc'!A0", 1], ["bell\x07", Decimal("2.50")], [None, -3]],
        sheet_title="Pages",
    )
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Pages"]
    rows = [[cell.value for cell in row] for row in workbook.active.iter_rows()]
    assert rows == [["name", "value"], ["'=cmd|' /C calc'!A0", 1], ["bell", 2.5], [None, -3]]


def test_export_response():
    response = export_response(file_format="csv", filename="x-1", header=["a"], rows=[[1]])
    assert response["Content-Disposition"] == 'attachment; filename="x-1.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    with pytest.raises(ValueError):
        export_response(file_format="pdf", filename="x", header=[], rows=[])


def test_csv_chunks_stream_the_same_bytes_as_csv_bytes():
    rows = [[i, f"/page/{i}", "=cmd" if i % 2 else "ok"] for i in range(3000)]
    chunks = list(csv_chunks(header=["id", "url", "note"], rows=rows, chunk_bytes=4096))
    assert len(chunks) > 3
    assert b"".join(chunks) == csv_bytes(header=["id", "url", "note"], rows=rows)
    assert b"'=cmd" in chunks[1] and chunks[0].startswith(b"\xef\xbb\xbfid,url,note")
