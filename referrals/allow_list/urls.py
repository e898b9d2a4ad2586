"""URL parts of raw values (any scheme or none), shared by the website and referrer rules."""

import contextlib
import re

# Any scheme (`https:`, `android-app:`) or none, then two or more slashes.
_URL_PREFIX = re.compile(r"(?:[a-z][a-z0-9+.\-]*:)?//+")
_AUTHORITY_END = re.compile(r"[/?#\\]")


def split_url(value: str) -> tuple[str, str, str]:
    """Split a lowercased URL, with any scheme or none, into (authority, path, query)."""
    prefix = _URL_PREFIX.match(value)
    rest = value[prefix.end() :] if prefix else value
    end = _AUTHORITY_END.search(rest)
    if end is None:
        return rest, "", ""
    authority, rest = rest[: end.start()], rest[end.start() :].replace("\\", "/")
    path, _, query = rest.partition("#")[0].partition("?")
    return authority, path, query


def host_of(authority: str) -> str:
    """Return the host of an authority without userinfo, port and trailing dots; '' for IPv6."""
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return ""
    host = host.partition(":")[0].rstrip(".")
    if not host.isascii():
        # An invalid IDN cannot equal an entry either, so it is kept as is.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host
