"""Cell values as Adobe Analytics and GA4 export them, parsed into the push API's types."""

import datetime as dt

import pytest
from referrals_push import values


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1234", 1234),
        ("1,234", 1234),  # Adobe, en-US
        ("1.234", 1234),  # de-DE: a count has no fraction
        ("1 234", 1234),  # fr-FR
        ("1\u00a0234", 1234),  # no-break space
        ("1\u202f234", 1234),  # narrow no-break space
        ("1'234", 1234),  # de-CH
        ("1,234,567", 1234567),
        ("1.234.567", 1234567),
        ("12.0", 12),  # GA4 BigQuery FLOAT columns
        (" 7 ", 7),
        (12, 12),
        (12.0, 12),
        ("0", 0),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_counts(cell, expected):
    assert values.parse_count(cell) == expected


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-3", "negative"),
        ("12.5", "not a whole number"),
        (12.5, "not a whole number"),
        ("abc", "not a number"),
        (True, "not a whole number"),
        (str(2**63), "too large"),
        ("1,2,3", "not a number"),
    ],
)
def test_bad_counts(cell, message):
    with pytest.raises(ValueError, match=message):
        values.parse_count(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1234.56", 1234.56),  # GA4 Data API
        ("$1,234.56", 1234.56),  # Adobe, en-US with currency
        ("1,234.56 USD", 1234.56),
        ("USD 12.50", 12.5),
        ("1.234,56 €", 1234.56),  # de-DE
        ("€ 0,99", 0.99),
        ("1 234,56", 1234.56),  # fr-FR
        ("£1,000", 1000.0),
        ("12,5", 12.5),  # a decimal comma
        ("1.234", 1.234),  # an amount keeps its fraction
        ("1.234.567,89", 1234567.89),
        ("0", 0.0),
        (3.5, 3.5),
        (10, 10.0),
        ("", None),
        (None, None),
    ],
)
def test_amounts(cell, expected):
    assert values.parse_amount(cell) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-5.00", "negative"),
        ("($12.00)", "negative"),  # accounting notation
        ("\u22125.00", "negative"),  # the minus sign of sv-SE, fi-FI, nb-NO number formats
        ("\u2212$5.00", "negative"),
        ("1\u00a0234,56\u00a0\u20ac \u2212", "negative"),
        ("\u20135", "negative"),  # an en dash typed as a minus
        ("free", "not an amount"),
        ("1e13", "over 10\\^12"),
        (float("nan"), "not a finite amount"),
        (float("inf"), "not a finite amount"),
        (False, "not an amount"),
    ],
)
def test_bad_amounts(cell, message):
    with pytest.raises(ValueError, match=message):
        values.parse_amount(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-05-20", "2026-05-20"),
        ("20260520", "2026-05-20"),  # GA4: event_date, and the Data API's date
        ("May 20, 2026", "2026-05-20"),  # Adobe Data Warehouse: Day
        ("January 5, 2026", "2026-01-05"),
        ("Jan 5, 2026", "2026-01-05"),
        ("January 5, 2026 00:00", "2026-01-05"),
        ("05/20/2026", "2026-05-20"),
        ("2026-05-20T00:00:00", "2026-05-20"),
    ],
)
def test_dates(cell, expected):
    assert values.parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["", "2026-02-30", "yesterday", "20/05/2026", "2026/05/20"])
def test_bad_dates(cell):
    with pytest.raises(ValueError):
        values.parse_date(cell)


def test_a_date_the_service_refuses_as_too_late_is_a_bad_value():
    """The service refuses a day after tomorrow (UTC) with a 422 for the whole batch, which
    stops the push: the row is reported and not sent instead, as any other bad value."""
    today = dt.datetime.now(dt.UTC).date()
    assert values.parse_date(today.isoformat()) == today.isoformat()
    assert values.parse_date(f"{today + dt.timedelta(days=1):%Y%m%d}") == str(
        today + dt.timedelta(days=1)
    )
    with pytest.raises(ValueError, match="later than tomorrow"):
        values.parse_date(str(today + dt.timedelta(days=2)))
    with pytest.raises(ValueError, match="later than tomorrow"):
        values.parse_date("January 5, 2099")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("0", False), ("", None)],
)
def test_flags(cell, expected):
    assert values.parse_flag(cell) is expected
