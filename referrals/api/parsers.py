"""The API's JSON body parser: DRF's, with nesting deeper than the decoder can go a 400."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from referrals.ingest.parse import TOO_DEEP


class BoundedJSONParser(JSONParser):
    """The standard library's decoder recurses per level: a RecursionError is a client's fault."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
