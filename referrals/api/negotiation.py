"""Content negotiation of the API: JSON whatever the client's Accept header or ?format= say."""

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class FallbackContentNegotiation(DefaultContentNegotiation):
    """The published (FastAPI) service never answers 406 and has no `format` parameter (an
    unknown query parameter is ignored), so a renderer the request cannot select falls back to
    the view's first one instead of DRF's 406 or 404. The schema view keeps ?format=json."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (Http404, NotAcceptable):
            return renderers[0], renderers[0].media_type
