"""gunicorn's own log lines (its error log: boot, workers, signals, timeouts; and its access
log when one is asked for) in the application's JSON (referrals/ops/jsonlog.py), so that with
LOG_FORMAT=json a log pipeline reads one format from gunicorn's stderr (gunicorn.conf.py).

A logger class rather than gunicorn's logconfig_dict: it keeps the destinations gunicorn's
settings chose (--error-logfile, --access-logfile, syslog) and their levels, and changes
only the format.
"""

import logging

from gunicorn.glogging import Logger

from referrals.ops.jsonlog import JsonFormatter


class JsonLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
        # The master's other loggers and Python's warnings, before (or without) Django's
        # logging: JSON on stderr too, not the plain last-resort handler. A worker's Django
        # (settings.LOGGING) replaces the root's handlers with its own JSON console.
        root = logging.getLogger()
        if not root.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(formatter)
            root.addHandler(handler)
        logging.captureWarnings(True)
