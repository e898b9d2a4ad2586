"""URL parts of raw values (any scheme or none), shared by the website and referrer rules."""

import contextlib
import re
from urllib.parse import unquote

# Any scheme (`https:`, `android-app:`) or none, then two or more slashes.
_URL_PREFIX = re.compile(r"(?:[a-z][a-z0-9+.\-]*:)?//+")
_AUTHORITY_END = re.compile(r"[/?#\\]")
# All a host may hold once decoded and IDNA-encoded: anything else (a delimiter, `%`, a space,
# a control character) means the value names no host.
_HOST = re.compile(r"[a-z0-9_.\-]+")


def starts_like_url(value: str) -> bool:
    """Whether a lowercased value starts with a scheme and `//`, or with `//`."""
    return _URL_PREFIX.match(value) is not None


def split_url(value: str) -> tuple[str, str, str]:
    """Split a lowercased URL, with any scheme or none, into (authority, path, query).

    Only raw delimiters split: an encoded one (`%2F`, `%3F`) stays inside its part.
    """
    prefix = _URL_PREFIX.match(value)
    rest = value[prefix.end() :] if prefix else value
    end = _AUTHORITY_END.search(rest)
    if end is None:
        return rest, "", ""
    authority, rest = rest[: end.start()], rest[end.start() :].replace("\\", "/")
    path, _, query = rest.partition("#")[0].partition("?")
    return authority, path, query


def host_of(authority: str, *, decode: bool = False) -> str:
    """Return the host of an authority without userinfo, port and trailing dots; '' when it is
    no hostname (an IPv6 literal, or a delimiter, `%`, space or control character in it).

    Userinfo and port are cut off at the raw `@` and `:` before the host is percent-decoded
    (with `decode`), so an encoded delimiter can never move where the host starts or ends.
    """
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return ""
    host = host.partition(":")[0]
    if decode and "%" in host:
        host = unquote(host).lower()  # lowercase again: %43 decodes to "C"
    if not host.isascii():
        # An invalid IDN stays non-ASCII, and IDNA maps look-alikes (`／`, `＠`) to ASCII
        # delimiters: both are refused below.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    host = host.rstrip(".")
    return host if _HOST.fullmatch(host) else ""
