"""A small website served on 127.0.0.1 for the crawl's tests and benchmark: files from a
directory, plus a slow page and a redirect (http.server, threaded; nothing leaves the host)."""

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SLOW_SECONDS = 3.0


class SiteHandler(SimpleHTTPRequestHandler):
    server_version = "TestSite/1.0"
    requests_seen: list[tuple[str, str]]  # (path, user agent), set per server

    def do_GET(self):
        self.server.requests_seen.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/robots.txt" and self.server.robots_status:
            self.send_error(self.server.robots_status)
            return
        if self.path == "/slow.html":
            time.sleep(SLOW_SECONDS)
        if self.path == "/redirect":
            self.send_response(301)
            self.send_header("Location", "/moved.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format, *args):  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    robots_status = None  # an HTTP status to answer /robots.txt with instead of the file

    def handle_error(self, request, client_address):
        pass  # a client that hung up (a timeout, a size cap) is what the tests do on purpose


class SiteServer:
    """`with SiteServer(root) as site:` serves `root` at `site.url` until the block ends."""

    def __init__(self, root: Path):
        handler = functools.partial(SiteHandler, directory=str(root))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.requests_seen = []
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def robots_answer(self, status: int) -> None:
        self.httpd.robots_status = status

    @property
    def requests_seen(self) -> list[tuple[str, str]]:
        return self.httpd.requests_seen

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
