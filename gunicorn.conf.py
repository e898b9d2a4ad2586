"""gunicorn's settings: read from the working directory by any `gunicorn project.wsgi`.

The bind address stays on the command line (default 127.0.0.1:8000). In production nginx
stands in front and buffers request bodies (README "Production"); without it, slow request
heads still cannot starve the service (docs/reliability.md, "Slow clients").
"""

import os
import shutil
import tempfile

from project.env import env_int

# About one per core. 0 would start a master that listens and never answers.
workers = env_int("WORKERS", 2, minimum=1)
# gthread, except that the main loop reads each request head and a thread gets the connection
# only once it is complete: a connection trickling its headers holds no thread. With the sync
# worker or plain gthread, as many slow connections as workers (or threads) stop the service.
worker_class = "project.workers.HeadBufferingThreadWorker"
# Requests one worker serves at once: they overlap while waiting on the database. Each thread
# keeps its own database connection (CONN_MAX_AGE): workers x threads connections at most.
threads = 8
worker_connections = 1000  # open connections per worker, slow ones included
timeout = 30  # a worker whose main loop is silent this long is restarted (not a request limit)
graceful_timeout = 30  # on a restart or stop, requests in flight get this long to finish
keepalive = 5  # seconds an idle kept-alive connection is kept (nginx reuses them)
# Request heads: a line of 4 KiB, 50 header fields of 8 KiB at most (gunicorn answers 400).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# No control socket (gunicornc): its default path is one per user, so every master on a host
# took it over from the one before and the first to exit removed it for all. Reload with
# `kill -HUP <master pid>` (docs/operations.md).
control_socket_disable = True
# LOG_FORMAT=json (settings.py): gunicorn's own lines in the application's JSON as well, so a
# log pipeline reads one format on stderr (project/gunicorn_logging.py).
if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json":
    logger_class = "project.gunicorn_logging.JsonLogger"

# Prometheus metrics (referrals/ops/metrics.py): each worker writes its samples to files in
# PROMETHEUS_MULTIPROC_DIR and /metrics adds up every worker's, so totals are right whichever
# worker answers a scrape. Set in the master before any worker imports prometheus_client.
_made_metrics_dir: list[str] = []


def on_starting(server):
    """Use the operator's PROMETHEUS_MULTIPROC_DIR, emptied (samples of an earlier run would
    add up), or a temporary directory removed at exit."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))
        return
    directory = tempfile.mkdtemp(prefix="referrals-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    _made_metrics_dir.append(directory)


def child_exit(server, worker):
    """A worker's live gauges leave with it; its counters stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for directory in _made_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)
