"""Website canonical form and a pushed page's place in the site map (pure, no ORM)."""

import ipaddress
import re
from encodings import idna

from referrals.allow_list.urls import split_url

WEBSITE_NOT_STRING = "Website must be a string."
WEBSITE_EMPTY = "Website must not be empty."
WEBSITE_INVALID = "Website must be a hostname such as example.com."
WEBSITE_TOO_LONG = "Website must be at most 253 characters, with labels of at most 63."
WEBSITE_NO_DOT = "Website must be a full domain name with a dot, such as example.com."
WEBSITE_IP_ADDRESS = "Website must be a domain name, not an IP address."

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_MAX_WEBSITE_INPUT = 2048


class InvalidWebsite(ValueError):
    """A website that cannot be reduced to a hostname; the API answers 400 with its message."""


def _punycode_ok(label: str) -> bool:
    """Accept an `xn--` label only if it round-trips, so two spellings never share a website."""
    try:
        return idna.ToASCII(label[4:].encode("ascii").decode("punycode")) == label.encode()
    except (ValueError, OverflowError):
        return False


def website_canonical(value: str) -> str:
    """Reduce a user-supplied website to the canonical hostname stored on a Connection.

    IP addresses, single-label names (`localhost`) and numeric top-level labels are
    rejected: a connection is for a public website. IDNA is IDNA 2003 (stdlib codec).
    """
    if not isinstance(value, str):
        raise InvalidWebsite(WEBSITE_NOT_STRING)
    text = value.strip()
    if not text:
        raise InvalidWebsite(WEBSITE_EMPTY)
    if len(text) > _MAX_WEBSITE_INPUT:
        raise InvalidWebsite(WEBSITE_TOO_LONG)
    host = split_url(text.lower())[0].rpartition("@")[2]
    if host.startswith("["):
        raise InvalidWebsite(WEBSITE_IP_ADDRESS)
    host, _, port = host.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise InvalidWebsite(WEBSITE_INVALID)
    labels = idna.dots.split(host)  # IDNA also treats 。．｡ as dots
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot is the fully qualified spelling of the same name
    ascii_labels = []
    for label in labels:
        if not label.isascii():
            try:
                label = idna.ToASCII(label).decode("ascii")
            except UnicodeError:
                raise InvalidWebsite(WEBSITE_INVALID) from None
        if len(label) > 63:
            raise InvalidWebsite(WEBSITE_TOO_LONG)
        if not _LABEL.fullmatch(label) or (label.startswith("xn--") and not _punycode_ok(label)):
            raise InvalidWebsite(WEBSITE_INVALID)
        ascii_labels.append(label)
    canonical = ".".join(ascii_labels)
    if len(canonical) > 253:
        raise InvalidWebsite(WEBSITE_TOO_LONG)
    try:
        ipaddress.ip_address(canonical)
    except ValueError:
        pass
    else:
        raise InvalidWebsite(WEBSITE_IP_ADDRESS)
    if len(ascii_labels) < 2:
        raise InvalidWebsite(WEBSITE_NO_DOT)
    # Browsers read a numeric or 0x last label as IPv4; every real TLD starts with a letter.
    if not ascii_labels[-1][0].isalpha():
        raise InvalidWebsite(WEBSITE_INVALID)
    # Keep `www.com` whole: only a `www.` in front of a registrable name is a prefix. Every
    # such `www.` goes, so that the canonical form canonicalizes to itself (`www.www.x.com`).
    while ascii_labels[0] == "www" and len(ascii_labels) > 2:
        ascii_labels = ascii_labels[1:]
        canonical = canonical[4:]
    return canonical


def page_location(*, website: str, raw_page_value: str) -> tuple[str, str, int]:
    """(url, path, depth) of a raw page value, for the site map.

    A value starting with `/` is a path on the website; an absolute http(s) URL is kept as
    is; anything else (an Adobe page name such as `home:shoes`) is its own url, with an empty
    path and depth 0. Depth counts non-empty path segments; query and fragment are ignored.
    """
    lowered = raw_page_value[:8].lower()
    if raw_page_value.startswith("/"):
        url = f"https://{website}{raw_page_value}"
        path = raw_page_value
    elif lowered.startswith(("http://", "https://")):
        url = raw_page_value
        rest = raw_page_value.split("//", 1)[1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    else:
        return raw_page_value, "", 0
    path = path.split("#", 1)[0].split("?", 1)[0]
    depth = sum(1 for segment in path.split("/") if segment)
    return url, path, depth
