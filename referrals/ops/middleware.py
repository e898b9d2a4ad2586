"""Probes and scrapes answered before the rest of the middleware.

A load balancer or Prometheus calls by address (Host: 10.0.0.5:8000) over plain HTTP: here
they are not refused by ALLOWED_HOSTS nor redirected to HTTPS by SECURE_DEPLOY, and they cost
no session, CSRF or CSP work. Placed after the request-id and request-log middleware.
"""

from referrals.ops.health import healthz, readyz
from referrals.ops.metrics import metrics_view

ROUTES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        return view(request)
