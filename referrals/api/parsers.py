"""The API's JSON body parser: DRF's, with nesting deeper than the decoder can go a 400; and
the reading of a chunked body for the endpoints that parse with it."""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.http import UnreadablePostError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from referrals.ingest.parse import TOO_DEEP, UNREADABLE_BODY, UnreadableBody, body_read


class BoundedJSONParser(JSONParser):
    """The standard library's decoder recurses per level: a RecursionError is a client's fault."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None


def request_json(request):
    """The parsed JSON body of a DRF request, its chunked body read first (below); a body the
    server could not deliver whole (cut short, or late past REQUEST_BODY_TIMEOUT) is a 400:
    DRF reads Django's request.body, whose UnreadablePostError was a 500."""
    try:
        chunked_body_buffer(request._request)
        return request.data  # malformed JSON: a 400 (ParseError)
    except (UnreadableBody, UnreadablePostError) as exc:
        raise ParseError(UNREADABLE_BODY) from exc


def chunked_body_buffer(request) -> None:
    """Read a body sent with Transfer-Encoding: chunked, so that Django and DRF see it.

    Without a Content-Length Django reads no body at all. gunicorn marks a chunked stream
    terminated (wsgi.input_terminated), so it can be read to its end: at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes (beyond, the same 413 as a declared length), then
    handed to Django as a body of that length. (The push endpoints read their own bodies.)
    """
    meta = request.META
    if meta.get("CONTENT_LENGTH") or not meta.get("wsgi.input_terminated"):
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = body_read(meta["wsgi.input"].read, limit + 1)  # UnreadableBody: request_json's 400
    if len(body) > limit:
        raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    if body:
        meta["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
