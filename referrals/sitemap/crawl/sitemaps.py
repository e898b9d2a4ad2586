"""Sitemaps (sitemaps.org): a urlset's pages with their lastmod, an index's child sitemaps;
gzip-compressed files included. Parsed by the standard library's expat, which refuses
external entities and bounds entity expansion; the input is already capped by the fetch."""

import gzip
import io
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class SitemapContent:
    pages: list[tuple[str, datetime | None]] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    error: str | None = None


def gunzip_capped(body: bytes, max_bytes: int) -> bytes:
    """Decompressed, at most max_bytes (ValueError beyond: a bomb is not read further)."""
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"more than {max_bytes} bytes once decompressed")
    return data


def lastmod_parse(text: str | None) -> datetime | None:
    """W3C datetime (`2026-05-01`, `2026-05-01T10:00:00+02:00`, `...Z`) as aware UTC."""
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sitemap_parse(body: bytes, *, max_bytes: int) -> SitemapContent:
    content = SitemapContent()
    try:
        if body[:2] == GZIP_MAGIC:
            body = gunzip_capped(body, max_bytes)
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError, OSError, EOFError, zlib.error) as exc:
        content.error = f"not a readable sitemap: {exc}"[:300]
        return content
    kind = _local(root.tag)
    for entry in root:
        fields = {_local(child.tag): (child.text or "").strip() for child in entry}
        loc = fields.get("loc")
        if not loc:
            continue
        if kind == "sitemapindex":
            content.sitemaps.append(loc)
        elif kind == "urlset":
            content.pages.append((loc, lastmod_parse(fields.get("lastmod"))))
    if kind not in ("sitemapindex", "urlset"):
        content.error = f"not a sitemap: the root element is <{kind}>"
    return content
