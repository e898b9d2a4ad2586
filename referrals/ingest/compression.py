"""A push body's Content-Encoding: gzip decompressed in bounded steps, any other refused.

The 5 MiB limit holds for both sizes. Decompression runs chunk by chunk with zlib's
`max_length`, so it never produces more than the limit plus one byte: a gzip bomb is a 413
after at most `limit` bytes of output, and a worker's memory stays flat whatever the ratio.
"""

import zlib
from collections.abc import Iterable

from referrals.ingest.parse import PushError

ENCODING_IDENTITY = "identity"
ENCODING_GZIP = "gzip"
_GZIP_NAMES = {"gzip", "x-gzip"}  # RFC 9110 8.4.1.3: x-gzip is gzip
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer, not a raw zlib stream

UNSUPPORTED_ENCODING = (
    "Unsupported Content-Encoding {given!r}: send the body as is, or gzip-compressed with "
    "Content-Encoding: gzip."
)
CORRUPT_GZIP = "Content-Encoding is gzip, but the body is not valid gzip: {reason}."
TRUNCATED = "the gzip stream ends early (truncated body?)"
DECOMPRESSED_TOO_LARGE = "Body too large once decompressed: at most {limit} bytes per push."


def body_encoding(request) -> str:
    """ENCODING_GZIP or ENCODING_IDENTITY from the request's Content-Encoding, else a 415.

    Decided before anything is read. `identity` entries are no-ops (RFC 9110); one gzip layer
    is all a push may have.
    """
    given = request.META.get("HTTP_CONTENT_ENCODING", "")
    codings = [c.strip().lower() for c in given.split(",")]
    codings = [c for c in codings if c and c != ENCODING_IDENTITY]
    if not codings:
        return ENCODING_IDENTITY
    if len(codings) == 1 and codings[0] in _GZIP_NAMES:
        return ENCODING_GZIP
    raise PushError(415, UNSUPPORTED_ENCODING.format(given=given[:100]))


def _corrupt(exc: zlib.error) -> PushError:
    reason = str(exc).split(": ", 1)[-1]  # "Error -3 while decompressing data: <reason>"
    return PushError(400, CORRUPT_GZIP.format(reason=reason))


def gunzip_bounded(chunks: Iterable[bytes], *, limit: int) -> bytes:
    """The decompressed body of gzip `chunks`: 413 past `limit` bytes of output, 400 if corrupt.

    Concatenated gzip members decompress as one body, as gzip(1) does. Each call to zlib may
    produce at most the room left plus one byte, so output past the limit is never held.
    """
    out = bytearray()
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    in_member = False  # input fed to the current member that has not reached its end
    for chunk in chunks:
        data = chunk
        while data:
            in_member = True
            try:
                out += decompressor.decompress(data, limit + 1 - len(out))
            except zlib.error as exc:
                raise _corrupt(exc) from None
            if len(out) > limit:
                raise PushError(413, DECOMPRESSED_TOO_LARGE.format(limit=limit))
            if decompressor.eof:
                data = decompressor.unused_data  # the next member, if any
                decompressor = zlib.decompressobj(_GZIP_WBITS)
                in_member = False
            else:
                data = decompressor.unconsumed_tail
    if in_member:
        raise PushError(400, CORRUPT_GZIP.format(reason=TRUNCATED))
    return bytes(out)
