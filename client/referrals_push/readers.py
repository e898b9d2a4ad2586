"""Input files (CSV, NDJSON, JSON; gzip or not; `-` for stdin) read as push rows with origins.

Every input row comes out as a Row, a BadRow (with the reason) or a Skipped (a report's
totals line): nothing is dropped without a word. Origins are `file:line`.
"""

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from referrals_push.records import (
    KINDS,
    BadRow,
    Columns,
    Kind,
    Row,
    columns_resolve,
    row_convert,
)

STDIN = "-"
FORMATS = ("csv", "ndjson", "json")
_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TOTALS = {"total", "totals", "grand total"}  # GA4's and Adobe's report downloads add one
csv.field_size_limit(16 * 1024 * 1024)


@dataclass(slots=True)
class Skipped:
    """An input row deliberately not sent (a totals line), listed in the summary."""

    origin: str
    message: str


def source_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def open_binary(path: str) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it starts with the gzip magic (any name)."""
    raw = sys.stdin.buffer if path == STDIN else open(path, "rb")  # noqa: SIM115
    peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if peek == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw)
    return raw


def _encoding(head: bytes) -> str:
    """UTF-16 when the text starts with its BOM (Excel's "Unicode text"), else UTF-8 (with or
    without a BOM)."""
    return "utf-16" if head[:2] in _UTF16_BOMS else "utf-8-sig"


def open_text(path: str, errors: str = "strict") -> io.TextIOBase:
    binary = open_binary(path)
    encoding = _encoding(binary.peek(2)[:2] if hasattr(binary, "peek") else b"")
    return io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")


def guess_format(path: str, first_char: str) -> str:
    name = path.lower().removesuffix(".gz")
    for suffix, fmt in ((".csv", "csv"), (".tsv", "csv"), (".json", "json")):
        if name.endswith(suffix):
            return fmt
    if name.endswith((".ndjson", ".jsonl", ".ldjson")):
        return "ndjson"
    return {"[": "json", "{": "ndjson"}.get(first_char, "csv")


def _sniff(path: str) -> str:
    """The first non-blank character of the input, without consuming stdin."""
    if path == STDIN:
        head = sys.stdin.buffer.peek(4096)[:4096]
        if head[:2] == _GZIP_MAGIC:  # the start of the text, from the start of the gzip
            try:
                head = zlib.decompressobj(wbits=31).decompress(head, 4096)
            except zlib.error:
                return ""  # a broken gzip: the reader says so
    else:
        with open_binary(path) as stream:
            head = stream.read(4096)
    return head.decode(_encoding(head), "ignore").lstrip("\ufeff \t\r\n")[:1]


def _delimiter(header_line: str) -> str:
    return max((",", ";", "\t", "|"), key=header_line.count)


def _csv_records(stream, delimiter: str | None) -> Iterator[tuple]:
    """(line, header, cells) for every data row; leading `#` comments and blanks skipped."""
    line = 0
    header_line = ""
    for header_line in stream:
        line += 1
        if header_line.strip() and not header_line.startswith("#"):
            break
    else:
        return
    delimiter = delimiter or _delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    yield line, header, None
    reader = csv.reader(stream, delimiter=delimiter)
    previous = reader.line_num
    for cells in reader:
        start = line + previous + 1
        previous = reader.line_num
        yield start, header, cells


def read_csv(
    path: str, *, kind: Kind, preset: str | None, mapping: Mapping[str, str], delimiter=None
) -> Iterator[Row | BadRow | Skipped]:
    name = source_name(path)
    columns: Columns | None = None
    with open_text(path) as stream:
        for line, header, cells in _csv_records(stream, delimiter):
            origin = f"{name}:{line}"
            if cells is None:
                try:
                    columns = columns_resolve(header, kind=kind, preset=preset, mapping=mapping)
                except ValueError as exc:
                    yield BadRow(origin, f"header: {exc}")
                    return
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line is no row
            if cells[0].strip().casefold() in _TOTALS:
                yield Skipped(origin, f"totals row ({cells[0].strip()}) not sent")
                continue
            if len(cells) != len(header):
                yield BadRow(origin, f"{len(cells)} cells, the header has {len(header)}")
                continue
            record = dict(zip(header, cells, strict=True))
            try:
                yield Row(row_convert(record, kind=kind, columns=columns), origin)
            except ValueError as exc:
                yield BadRow(origin, str(exc))


def _convert_object(
    value, origin: str, kind: Kind, preset: str | None, mapping, cache: dict
) -> Row | BadRow:
    if not isinstance(value, dict):
        return BadRow(origin, f"not a JSON object but {type(value).__name__}")
    columns = None
    if preset or mapping:
        keys = tuple(value)
        if keys not in cache:
            try:
                cache[keys] = columns_resolve(keys, kind=kind, preset=preset, mapping=mapping)
            except ValueError as exc:
                cache[keys] = exc
        columns = cache[keys]
        if isinstance(columns, ValueError):
            return BadRow(origin, str(columns))
    try:
        return Row(row_convert(value, kind=kind, columns=columns), origin)
    except ValueError as exc:
        return BadRow(origin, str(exc))


def read_ndjson(
    path: str, *, kind: Kind, preset: str | None, mapping: Mapping[str, str]
) -> Iterator[Row | BadRow]:
    name, cache = source_name(path), {}
    with open_text(path) as stream:
        for number, text in enumerate(stream, 1):
            if not text.strip():
                continue
            origin = f"{name}:{number}"
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield BadRow(origin, f"malformed JSON: {exc.msg} at column {exc.colno}")
                continue
            yield _convert_object(value, origin, kind, preset, mapping, cache)


JSON_CHUNK = 1 << 20  # characters read at a time from a JSON array
_JSON_GAP = re.compile(r"[ \t\r\n,]*")  # between the items of an array


def read_json(
    path: str, *, kind: Kind, preset: str | None, mapping: Mapping[str, str]
) -> Iterator[Row | BadRow]:
    """A JSON array, decoded item by item so that each item's origin names its line, and read
    a chunk at a time so that an export of millions of rows is never held whole."""
    name, cache = source_name(path), {}
    decoder = json.JSONDecoder()
    with open_text(path) as stream:
        text = stream.read(JSON_CHUNK)
        end = not text
        position = len(text) - len(text.lstrip())
        while position == len(text) and not end:  # a file of blanks, then the array
            text = stream.read(JSON_CHUNK)
            end, position = not text, len(text) - len(text.lstrip())
        if not text.startswith("[", position):
            yield BadRow(f"{name}:1", "a JSON file must hold an array of objects")
            return
        line, counted = 1, 0  # the line of text[counted]
        position += 1
        while True:
            position = _JSON_GAP.match(text, position).end()
            if position == len(text):
                if end:
                    return  # no closing bracket: every item was read
                line += text.count("\n", counted, position)
                text, counted, position = stream.read(JSON_CHUNK), 0, 0
                end = not text
                continue
            if text[position] == "]":
                return
            line += text.count("\n", counted, position)
            counted = position
            origin = f"{name}:{line}"
            while True:
                try:
                    value, after = decoder.raw_decode(text, position)
                except json.JSONDecodeError as exc:
                    chunk = "" if end else stream.read(JSON_CHUNK)
                    if chunk:  # the item may go on in the next chunk
                        text, counted, position = text[position:] + chunk, 0, 0
                        continue
                    yield BadRow(
                        origin, f"malformed JSON: {exc.msg}; the rest of the file is unread"
                    )
                    return
                if after < len(text) or end:
                    break
                chunk = stream.read(JSON_CHUNK)  # a number may go on: 12|34
                end = not chunk
                text, counted, position = text[position:] + chunk, 0, 0
            position = after
            yield _convert_object(value, origin, kind, preset, mapping, cache)


def read_rows(
    path: str,
    *,
    kind: Kind | str,
    preset: str | None = None,
    mapping: Mapping[str, str] | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
) -> Iterator[Row | BadRow | Skipped]:
    """The rows of one input, its format from `fmt`, the file name, or its first character.

    A file that cannot be read on (missing, corrupt gzip, not UTF-8) ends in one BadRow after
    the last row read from it.
    """
    kind = KINDS[kind] if isinstance(kind, str) else kind
    mapping = mapping or {}
    name = source_name(path)
    if path != STDIN and not Path(path).is_file():
        yield BadRow(f"{name}:0", "no such file")
        return
    last = f"{name}:0"
    try:
        fmt = fmt or guess_format(path, _sniff(path))
        if fmt == "csv":
            rows = read_csv(path, kind=kind, preset=preset, mapping=mapping, delimiter=delimiter)
        elif fmt == "ndjson":
            rows = read_ndjson(path, kind=kind, preset=preset, mapping=mapping)
        else:
            rows = read_json(path, kind=kind, preset=preset, mapping=mapping)
        for row in rows:
            last = row.origin
            yield row
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc
        if isinstance(exc, UnicodeDecodeError):  # Latin-1 or Windows-1252, most often
            reason = f"{exc.reason} (not UTF-8 or UTF-16 text: convert it to UTF-8 first)"
        yield BadRow(last, f"cannot read {name} after this line: {reason}")
