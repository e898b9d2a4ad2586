"""A NUL character anywhere in an admin request is a 400, before any view runs.

PostgreSQL cannot store or even compare a string holding NUL, and Django's admin passes some
request values to queries unchecked (a text primary key in a change URL, a choice filter's
value, the autocomplete's term, the ids an action is run on): each was a 500. Its forms
already refuse NUL in a field; this covers the rest in one place. Only the admin: the
dashboard forgives a bad parameter with a notice and the API answers in its published shapes.
"""

from django.http import HttpResponseBadRequest, UnreadablePostError
from django.urls import reverse

NUL_REFUSED = "A NUL character is not allowed in an admin request."
# The form is read here, before the CSRF check (which forgives an unreadable body with a 403):
# a body cut short or late (REQUEST_BODY_TIMEOUT, project/workers.py) was a 500.
UNREADABLE_FORM = "The request body could not be read: it did not arrive in time or was cut short."
TEXT = "text/plain; charset=utf-8"


def _has_nul(values) -> bool:
    return any("\x00" in value for _, items in values.lists() for value in items)


class AdminNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if not request.path.startswith(self.prefix):
            return self.get_response(request)
        try:
            refused = (
                "\x00" in request.path
                or _has_nul(request.GET)
                or (request.method == "POST" and _has_nul(request.POST))
            )
        except UnreadablePostError:
            return HttpResponseBadRequest(UNREADABLE_FORM, content_type=TEXT)
        if refused:
            return HttpResponseBadRequest(NUL_REFUSED, content_type=TEXT)
        return self.get_response(request)
