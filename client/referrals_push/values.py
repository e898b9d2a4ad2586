"""Cell values as analytics tools export them, parsed into what the push API takes.

Adobe Analytics and GA4 write numbers for people: thousands separators (`1,234`, `1.234`,
`1 234`), revenue with a currency (`$1,234.56`, `1.234,56 €`, `USD 12.50`), dates as
`January 5, 2026` or `20260105`. Each parser raises ValueError with a message for the
report; an empty cell is None.
"""

import datetime as dt
import functools
import math
import re
from decimal import Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")  # spaces, no-break spaces, Swiss apostrophe
_CURRENCY = re.compile(r"^[^\d\-+.,(]*|[^\d.,)]*$")  # symbols or codes around the number
_GROUPED = {
    ",": re.compile(r"^\d{1,3}(,\d{3})+$"),
    ".": re.compile(r"^\d{1,3}(\.\d{3})+$"),
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%B %d, %Y", "%b %d, %Y", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S")
_ADOBE_DAY = re.compile(r"^(?P<day>.+?)(?: 00:00(?::00)?)?$")  # "January 5, 2026 00:00"
# Minus signs other than "-" (sv-SE, fi-FI and nb-NO formats write U+2212): the currency
# pattern would strip them as symbols, making a refund of -5 an amount of 5.
_MINUS = str.maketrans(dict.fromkeys("\u2212\u2012\u2013\ufe63\uff0d", "-"))
MAX_INT = 2**63 - 1
_PLAIN_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,4})?$")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _digits(text: str, *, dot_groups: bool) -> str:
    """A plain decimal number (`1234.5`) from a grouped and possibly comma-decimal one.

    A lone `1.234` is 1234 for a count (a count has no fraction) but 1.234 for an amount.
    """
    text = _SPACES.sub("", text)
    if "," in text and "." in text:  # the last of the two is the decimal separator
        decimal, group = (",", ".") if text.rfind(",") > text.rfind(".") else (".", ",")
        return text.replace(group, "").replace(decimal, ".")
    for separator, grouped in _GROUPED.items():
        if separator not in text:
            continue
        lone_dot_amount = separator == "." and not dot_groups and text.count(".") == 1
        if grouped.match(text) and not lone_dot_amount:
            return text.replace(separator, "")  # 1,234 or 1.234.567: thousands
        if text.count(separator) > 1:
            return text  # 1,2,3: not a number
    return text.replace(",", ".")  # 12,5: a decimal comma


def parse_count(value) -> int | None:
    """A non-negative integer: `1,234`, `1.234`, `1 234`, `12.0` and 12 are fine."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)  # the common case, fast: a million rows read in seconds
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        number = int(value)
    else:
        try:
            parsed = Decimal(_digits(str(value).strip(), dot_groups=True))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not parsed.is_finite() or parsed != parsed.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        number = int(parsed)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    if number > MAX_INT:
        raise ValueError(f"{value!r} is too large")
    return number


def parse_amount(value) -> float | None:
    """A non-negative amount of money, with or without a currency and separators."""
    if type(value) is str and _PLAIN_AMOUNT.match(value):
        return float(value)  # the common case, fast
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int | float):
        amount = Decimal(str(value))
    else:
        text = str(value).strip().translate(_MINUS)
        negative = text.startswith("(") and text.endswith(")") or "-" in text
        text = _CURRENCY.sub("", text.strip("()").replace("-", "").strip())
        try:
            amount = Decimal(_digits(text, dot_groups=False))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
        if negative:
            amount = -amount
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    if amount < 0:
        raise ValueError(f"{value!r} is negative")
    if amount > 10**12:
        raise ValueError(f"{value!r} is over 10^12")
    result = float(amount)
    if math.isinf(result):
        raise ValueError(f"{value!r} is too large")
    return result


def parse_date(value) -> str:
    """YYYY-MM-DD from ISO, GA4's YYYYMMDD, Adobe's `January 5, 2026` and US `01/05/2026`."""
    if _blank(value):
        raise ValueError("the date is missing")
    day = _parse_date_text(str(value))
    # The service refuses a later day with a 422 for the whole batch, which stops the push.
    if day > (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat():
        raise ValueError(f"{value!r} is later than tomorrow (UTC): the service refuses it")
    return day


@functools.lru_cache(maxsize=4096)  # an export has a few hundred distinct days in its rows
def _parse_date_text(value: str) -> str:
    text = _ADOBE_DAY.match(" ".join(value.split()))["day"]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD, YYYYMMDD or 'January 5, 2026')")


def parse_flag(value) -> bool | None:
    """true/false, yes/no, 1/0; empty is None (not known)."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "t", "y"}:
        return True
    if text in {"false", "no", "0", "f", "n"}:
        return False
    raise ValueError(f"{value!r} is not true or false")


def parse_text(value, *, limit: int, required: bool) -> str | None:
    if _blank(value):
        if required:
            raise ValueError("it is missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    text = value
    if "\x00" in text:
        raise ValueError("it contains a NUL character")
    if len(text) > limit:
        raise ValueError(f"it is longer than {limit} characters")
    return text
