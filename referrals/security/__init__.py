"""Browser-side hardening: the login throttle and the client address it counts by."""
