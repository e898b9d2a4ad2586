"""The login throttle's pieces (django-axes): the client address it counts by, the lock-out page."""

import ipaddress
import math
from datetime import datetime

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT = "Too many failed sign-ins"


def client_ip_address(request: HttpRequest) -> str | None:
    """The address the throttle counts by: the TCP peer (REMOTE_ADDR) unless told otherwise.

    With settings.TRUSTED_PROXY_COUNT = n reverse proxies in front of gunicorn, each appending
    the address it saw to X-Forwarded-For, the client is the n-th entry from the right;
    entries further left were written by the client itself and are never read. A header too
    short (a request that did not pass every proxy) or not holding an address falls back to
    REMOTE_ADDR, so a forged header can never pick the address that gets counted.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count].strip()))
    except ValueError:
        return remote


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' backend, which refuses a locked-out sign-in; authentication without a request
    (the test client's login(), a script) has no client to count and passes on unchecked,
    where axes' own would raise. Every sign-in over HTTP comes with its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_ends_at(request: HttpRequest, credentials: dict | None) -> datetime:
    """When the lock-out ends at the latest: the cool-off after the last counted failure.

    Failures during a lock-out are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
    is off), so an attacker who keeps trying cannot make it longer.
    """
    attempts = AxesDatabaseHandler().get_user_attempts(request, credentials)
    times = [qs.aggregate(last=Max("attempt_time"))["last"] for qs in attempts]
    last = max((t for t in times if t is not None), default=timezone.now())
    return last + get_cool_off(request)


def lockout_response(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the lock-out page, 429 with Retry-After, for both login pages."""
    ends_at = lockout_ends_at(request, credentials)
    seconds = max(1, math.ceil((ends_at - timezone.now()).total_seconds()))
    context = {
        "title": LOCKED_OUT,
        "failure_limit": get_failure_limit(request, credentials),
        "retry_at": ends_at,
        "minutes": math.ceil(seconds / 60),
    }
    page = render(request, "registration/locked_out.html", context, status=429)
    page["Retry-After"] = str(seconds)
    return page
