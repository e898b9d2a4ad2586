"""The one integer-id parser of brand and page ids (API paths and the dashboard's ?brand=)."""

import pytest

from referrals.tenancy.scoping import id_parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        (" 1", None),
        ("١", None),  # a non-ASCII digit
        ("9" * 5000, None),
        ("", None),
    ],
)
def test_id_parse(text, expected):
    assert id_parse(text) == expected
