"""Input files as push rows: Adobe and GA4 exports, mappings, NDJSON, JSON, gzip, stdin."""

import gzip
import io
import sys
import tracemalloc

import pytest
from referrals_push import readers
from referrals_push.readers import Skipped, read_rows
from referrals_push.records import AGENTS, REFERRALS, BadRow, Row

ADOBE = """\
Day,Referring Domain,Page URL,Page Views,Visits,Orders,Revenue
"May 20, 2026",chatgpt.com,https://www.example.com/blog/launch,"1,234",987,12,"$1,234.56"
"May 20, 2026",www.perplexity.ai,https://www.example.com/pricing,15,9,0,$0.00
"May 21, 2026",google.com,https://www.example.com/,"12,001","10,500",3,"$99.90"
"""

GA4_DOWNLOAD = """\
# ----------------------------------------
# Traffic acquisition: Session source
# Account: Acme
# Property: Acme Web
# ----------------------------------------
#
# Start date: 20260501
# End date: 20260531
Date,Session source,Landing page + query string,Views,Sessions,Transactions,Purchase revenue
Grand total,,,1250,830,4,812.5
20260520,chatgpt.com,/blog/launch?utm_source=chatgpt.com,1200,800,4,812.5
20260521,claude.ai,/docs,50,30,0,0
"""

GA4_DATA_API = """\
date,sessionSource,landingPage,screenPageViews,sessions,transactions,purchaseRevenue
20260520,chatgpt.com,/blog/launch,1200,800,4,812.50
"""

GA4_BIGQUERY = """\
event_date,session_source,page_location,page_views,sessions,transactions,purchase_revenue
20260520,gemini.google.com,https://www.example.com/a,7,5,1,19.99
"""


def rows_of(path, **options):
    options.setdefault("kind", REFERRALS)
    return list(read_rows(str(path), **options))


def write(tmp_path, name, text, *, compress=False, encoding="utf-8"):
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_adobe_data_warehouse_export(tmp_path):
    path = write(tmp_path, "adobe.csv", ADOBE)
    rows = rows_of(path, preset="adobe")
    assert rows == [
        Row(
            {
                "date": "2026-05-20",
                "raw_referrer_value": "chatgpt.com",
                "raw_page_value": "https://www.example.com/blog/launch",
                "pageviews": 1234,
                "sessions": 987,
                "transactions": 12,
                "purchase_revenue": 1234.56,
            },
            f"{path}:2",
        ),
        Row(
            {
                "date": "2026-05-20",
                "raw_referrer_value": "www.perplexity.ai",
                "raw_page_value": "https://www.example.com/pricing",
                "pageviews": 15,
                "sessions": 9,
                "transactions": 0,
                "purchase_revenue": 0.0,
            },
            f"{path}:3",
        ),
        Row(
            {
                "date": "2026-05-21",
                "raw_referrer_value": "google.com",
                "raw_page_value": "https://www.example.com/",
                "pageviews": 12001,
                "sessions": 10500,
                "transactions": 3,
                "purchase_revenue": 99.9,
            },
            f"{path}:4",
        ),
    ]


def test_ga4_report_download_skips_comments_and_reports_the_totals_row(tmp_path):
    path = write(tmp_path, "ga4.csv", GA4_DOWNLOAD)
    rows = rows_of(path, preset="ga4")
    assert rows[0] == Skipped(f"{path}:10", "totals row (Grand total) not sent")
    assert [row.origin for row in rows[1:]] == [f"{path}:11", f"{path}:12"]
    assert rows[1].data == {
        "date": "2026-05-20",
        "raw_referrer_value": "chatgpt.com",
        "raw_page_value": "/blog/launch?utm_source=chatgpt.com",
        "pageviews": 1200,
        "sessions": 800,
        "transactions": 4,
        "purchase_revenue": 812.5,
    }


@pytest.mark.parametrize(
    ("text", "referrer", "page"),
    [
        (GA4_DATA_API, "chatgpt.com", "/blog/launch"),
        (GA4_BIGQUERY, "gemini.google.com", "https://www.example.com/a"),
    ],
)
def test_ga4_data_api_and_bigquery_names(tmp_path, text, referrer, page):
    (row,) = rows_of(write(tmp_path, "ga4.csv", text), preset="ga4")
    assert row.data["raw_referrer_value"] == referrer
    assert row.data["raw_page_value"] == page
    assert row.data["date"] == "2026-05-20"
    assert isinstance(row.data["pageviews"], int)


def test_a_header_naming_the_fields_needs_no_preset(tmp_path):
    text = (
        "date,raw_referrer_value,raw_page_value,sessions,batch_id,extra\n"
        "2026-05-20,chatgpt.com,/a,3,b-7,ignored\n"
    )
    (row,) = rows_of(write(tmp_path, "plain.csv", text))
    assert row.data == {
        "date": "2026-05-20",
        "raw_referrer_value": "chatgpt.com",
        "raw_page_value": "/a",
        "sessions": 3,
        "batch_id": "b-7",
    }


def test_the_mapping_wins_over_the_preset(tmp_path):
    text = "Day,Referrer,Page,Entry Page,Visits\n2026-05-20,chatgpt.com,/page,/entry,4\n"
    (row,) = rows_of(
        write(tmp_path, "m.csv", text), preset="adobe", mapping={"raw_page_value": "entry page"}
    )
    assert row.data["raw_page_value"] == "/entry"
    assert row.data["sessions"] == 4


def test_a_missing_column_is_reported_at_the_header(tmp_path):
    path = write(tmp_path, "bad.csv", "Day,Visits\n2026-05-20,4\n")
    (bad,) = rows_of(path, preset="adobe")
    assert isinstance(bad, BadRow)
    assert bad.origin == f"{path}:1"
    assert "raw_page_value, raw_referrer_value" in bad.message
    assert "the header has: Day, Visits" in bad.message
    assert "--map" in bad.message


def test_a_mapping_to_a_column_that_is_not_there(tmp_path):
    path = write(tmp_path, "m.csv", "Day,Referrer,Page\n2026-05-20,chatgpt.com,/a\n")
    (bad,) = rows_of(path, preset="adobe", mapping={"sessions": "Sessions"})
    assert "no column 'Sessions'" in bad.message


def test_bad_rows_carry_file_and_line_and_good_rows_go_on(tmp_path):
    text = (
        "Day,Referring Domain,Page URL,Visits,Revenue\n"
        '"May 20, 2026",chatgpt.com,"/multi\nline",4,$1.00\n'  # lines 2-3
        '"May 40, 2026",chatgpt.com,/a,4,$1.00\n'  # line 4
        '"May 20, 2026",chatgpt.com,/b,-4,$1.00\n'  # line 5
        '"May 20, 2026",,/c,4,$1.00\n'  # line 6
        '"May 20, 2026",chatgpt.com,/d,4,lots\n'  # line 7
        '"May 20, 2026",chatgpt.com,/e,4\n'  # line 8
        "\n"
        '"May 20, 2026",chatgpt.com,/f,4,$2.00\n'  # line 10
    )
    path = write(tmp_path, "adobe.csv", text)
    rows = rows_of(path, preset="adobe")
    summary = [(type(row).__name__, row.origin, getattr(row, "message", "")) for row in rows]
    assert summary == [
        ("Row", f"{path}:2", ""),
        (
            "BadRow",
            f"{path}:4",
            "date: 'May 40, 2026' is not a date (YYYY-MM-DD, YYYYMMDD or 'January 5, 2026')",
        ),
        ("BadRow", f"{path}:5", "sessions: '-4' is negative"),
        ("BadRow", f"{path}:6", "raw_referrer_value: it is missing"),
        ("BadRow", f"{path}:7", "purchase_revenue: 'lots' is not an amount"),
        ("BadRow", f"{path}:8", "4 cells, the header has 5"),
        ("Row", f"{path}:10", ""),
    ]
    assert rows[0].data["raw_page_value"] == "/multi\nline"


def test_semicolons_and_european_numbers(tmp_path):
    text = "Tag;Referrer;Seite;Besuche;Umsatz\n2026-05-20;chatgpt.com;/a;1.234;1.234,56 €\n"
    (row,) = rows_of(
        write(tmp_path, "de.csv", text, encoding="utf-8-sig"),
        mapping={
            "date": "Tag",
            "raw_referrer_value": "Referrer",
            "raw_page_value": "Seite",
            "sessions": "Besuche",
            "purchase_revenue": "Umsatz",
        },
    )
    assert row.data["sessions"] == 1234
    assert row.data["purchase_revenue"] == 1234.56


def test_gzip_csv_is_read_whatever_its_name(tmp_path):
    path = write(tmp_path, "adobe.csv.gz", ADOBE, compress=True)
    assert len([r for r in rows_of(path, preset="adobe") if isinstance(r, Row)]) == 3
    other = write(tmp_path, "export.dat", ADOBE, compress=True)
    assert len(rows_of(other, preset="adobe", fmt="csv")) == 3


def test_ndjson_rows_and_bad_lines(tmp_path):
    text = (
        '{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a",'
        ' "sessions": 3, "purchase_revenue": 1.5, "custom": 1}\n'
        "\n"
        "{not json}\n"
        "[1, 2]\n"
        '{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": 5}\n'
        '{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/b",'
        ' "sessions": 2.5}\n'
    )
    path = write(tmp_path, "events.ndjson", text)
    rows = rows_of(path)
    assert rows[0] == Row(
        {
            "date": "2026-05-20",
            "raw_referrer_value": "chatgpt.com",
            "raw_page_value": "/a",
            "sessions": 3,
            "purchase_revenue": 1.5,
            "custom": 1,  # passed on: the server names unknown fields in its warnings
        },
        f"{path}:1",
    )
    assert [(bad.origin, bad.message) for bad in rows[1:]] == [
        (
            f"{path}:3",
            "malformed JSON: Expecting property name enclosed in double quotes at column 2",
        ),
        (f"{path}:4", "not a JSON object but list"),
        (f"{path}:5", "raw_page_value: 5 is not a string"),
        (f"{path}:6", "sessions: 2.5 is not a whole number"),
    ]


def test_ndjson_with_the_ga4_preset(tmp_path):
    text = '{"event_date": "20260520", "session_source": "chatgpt.com", "page_path": "/a"}\n'
    (row,) = rows_of(write(tmp_path, "bq.jsonl", text), preset="ga4")
    assert row.data == {
        "date": "2026-05-20",
        "raw_referrer_value": "chatgpt.com",
        "raw_page_value": "/a",
    }


def test_a_json_array_names_each_item_by_its_line(tmp_path):
    text = """[
  {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"},
  {"date": "2026-05-20",
   "raw_referrer_value": "claude.ai", "raw_page_value": "/b"},
  {"date": "nope", "raw_referrer_value": "claude.ai", "raw_page_value": "/c"}
]
"""
    path = write(tmp_path, "events.json", text)
    rows = rows_of(path)
    assert [row.origin for row in rows] == [f"{path}:2", f"{path}:3", f"{path}:5"]
    assert isinstance(rows[2], BadRow)


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2"])
def test_a_json_file_that_is_no_array_of_objects(tmp_path, text):
    rows = rows_of(write(tmp_path, "bad.json", text))
    assert all(isinstance(row, BadRow) for row in rows)
    assert rows


def test_a_missing_file_is_a_bad_row():
    (bad,) = rows_of("/nonexistent/file.csv")
    assert bad == BadRow("/nonexistent/file.csv:0", "no such file")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("date,raw_referrer_value,raw_page_value\n2026-05-20,chatgpt.com,/a\n", "csv"),
        ('{"date":"2026-05-20","raw_referrer_value":"chatgpt.com","raw_page_value":"/a"}\n', "nd"),
        ('[{"date":"2026-05-20","raw_referrer_value":"chatgpt.com","raw_page_value":"/a"}]', "js"),
    ],
)
def test_stdin_in_any_format(monkeypatch, data, expected):
    buffer = io.BufferedReader(io.BytesIO(data.encode()))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(buffer))
    (row,) = rows_of("-")
    assert row.origin in {"<stdin>:1", "<stdin>:2"}
    assert row.data["raw_page_value"] == "/a"


def test_agent_rows_from_a_csv(tmp_path):
    text = "date,raw_user_agent,raw_page_value,hits,verified\n2026-05-20,GPTBot/1.2,/a,12,yes\n"
    (row,) = rows_of(write(tmp_path, "agents.csv", text), kind=AGENTS)
    assert row.data == {
        "date": "2026-05-20",
        "raw_user_agent": "GPTBot/1.2",
        "raw_page_value": "/a",
        "hits": 12,
        "verified": True,
    }
    (bad,) = rows_of(write(tmp_path, "a.csv", text.replace(",12,", ",,")), kind=AGENTS)
    assert bad.message == "hits: it is missing"


def test_an_unreadable_file_ends_in_one_bad_row_after_its_last_good_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"date,raw_referrer_value,raw_page_value\n"
        + b"2026-05-20,chatgpt.com,/a\n" * 2000
        + b"2026-05-20,chatgpt.com,/caf\xe9\n"  # ISO-8859-1, not UTF-8
    )
    rows = rows_of(path, kind="referrals")  # the kind by name, as the Python API allows
    assert isinstance(rows[0], Row)
    assert isinstance(rows[-1], BadRow)
    assert rows[-1].origin == rows[-2].origin  # after the last line read
    assert "cannot read" in rows[-1].message
    assert "invalid continuation byte" in rows[-1].message
    assert "not UTF-8 or UTF-16 text" in rows[-1].message  # says what to do about it

    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(ADOBE.encode() * 100)[:200])
    rows = rows_of(broken, preset="adobe", fmt="csv")
    assert isinstance(rows[-1], BadRow)
    assert "cannot read" in rows[-1].message


@pytest.mark.parametrize("fmt_of", ["nd", "js"])
def test_gzip_ndjson_or_json_on_stdin_is_told_by_its_first_character(monkeypatch, fmt_of):
    """`zcat`-less pipes (`gsutil cat gs://.../events.ndjson.gz | referrals-push ... -`): the
    format is guessed from the decompressed text, as for a file."""
    line = '{"date":"2026-05-20","raw_referrer_value":"chatgpt.com","raw_page_value":"/a"}'
    data = (line + "\n") if fmt_of == "nd" else f"[{line}]"
    buffer = io.BufferedReader(io.BytesIO(gzip.compress(data.encode())))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(buffer))
    (row,) = rows_of("-")
    assert row.data["raw_page_value"] == "/a"


def test_a_utf16_export_is_read(tmp_path):
    """Excel's "Unicode text" (UTF-16 with a BOM, tab-separated), as Adobe reports re-saved in
    Excel often are."""
    text = ADOBE.replace(",", "\t").replace('"May 20\t 2026"', "May 20, 2026")
    text = text.replace('"May 21\t 2026"', "May 21, 2026").replace('"1\t234"', "1234")
    text = text.replace('"12\t001"', "12001").replace('"10\t500"', "10500")
    text = text.replace('"$1\t234.56"', "$1234.56")
    for encoding in ("utf-16", "utf-16-be"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes((b"\xfe\xff" if encoding == "utf-16-be" else b"") + text.encode(encoding))
        rows = rows_of(path, preset="adobe")
        assert [type(row) for row in rows] == [Row, Row, Row], rows
        assert rows[0].data["pageviews"] == 1234
        assert rows[2].data["sessions"] == 10500


def test_a_json_array_is_read_as_a_stream(tmp_path):
    """A JSON array export of millions of rows is read item by item, as CSV and NDJSON are,
    never held whole: memory stays far below the file's size."""
    item = '{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/p%d"}'
    path = tmp_path / "big.json"
    with open(path, "w") as stream:
        stream.write("[\n" + ",\n".join(item % i for i in range(120_000)) + "\n]\n")
    assert path.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        count = 0
        for row in read_rows(str(path), kind=REFERRALS):
            assert isinstance(row, Row)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 120_000
    assert row.origin == f"{path}:120001"
    assert peak < 8_000_000  # a chunk of 1 MiB and its copies; the whole file took 21 MB


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_json_items_across_read_boundaries(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(readers, "JSON_CHUNK", chunk)
    text = """ [
  {"date": "2026-05-20", "raw_referrer_value": "x.ai", "raw_page_value": "/a", "sessions": 12345},
  {"date": "2026-05-20",
   "raw_referrer_value": "claude.ai", "raw_page_value": "/b\\u00e9"}, 7,
  {"date": "nope", "raw_referrer_value": "claude.ai", "raw_page_value": "/c"}
  ,{"date": "2026-05-21", "raw_referrer_value": "claude.ai", "raw_page_value": "/d"}]
"""
    path = write(tmp_path, "events.json", text)
    rows = rows_of(path)
    assert [row.origin for row in rows] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert [type(row) for row in rows] == [Row, Row, BadRow, BadRow, Row]
    assert rows[0].data["sessions"] == 12345
    assert rows[1].data["raw_page_value"] == "/bé"
    assert rows[2].message == "not a JSON object but int"

    broken = write(tmp_path, "broken.json", '[{"date": "2026-05-20"}, {"date": ')
    rows = rows_of(broken)
    assert isinstance(rows[-1], BadRow) and "malformed JSON" in rows[-1].message
