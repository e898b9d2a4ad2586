"""gunicorn's gthread worker, with each request head read by the main loop before a thread."""

import contextlib
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

from project.env import env_seconds

# Seconds a connection has to send a whole request head, once it has sent its first byte
# (a new connection: from its accept). Real clients and nginx send a head in one packet.
HEAD_TIMEOUT = 10.0
_READ = 64 * 1024
# Seconds a request's body has to arrive, from the moment its head is complete: a 5 MiB push
# takes under 1 s on a LAN (and nginx in front sends it at once), 42 s at 1 Mbit/s.
# 0 or less would make every body late (every push a 400), NaN none: refused at start.
BODY_TIMEOUT = env_seconds("REQUEST_BODY_TIMEOUT", 60.0, minimum=0, allow_minimum=False)
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Connection: close\r\nContent-Length: 0\r\n\r\n"
)


class HeadBufferingThreadWorker(ThreadWorker):
    """gthread reads a request's line and headers in the thread it hands the connection to, a
    blocking read with no deadline: N clients trickling a header byte every few seconds hold
    all N threads, and the worker stops answering. Here the main loop reads the head without
    blocking, alongside every other connection, and a thread gets the connection only once
    the head is complete. A head longer than gunicorn accepts is answered 431 here; one not
    complete within HEAD_TIMEOUT closes the connection.

    The body is still read by the thread, when the application asks for it: a buffering
    proxy in front (nginx, README "Production") sends it at once. Without one, a body that
    has not arrived BODY_TIMEOUT seconds after its head ends in a TimeoutError from the
    read (the API answers 400) and the connection closes: a client trickling its body holds
    a thread that long, not for good. With TLS or cleartext
    HTTP/2 set in gunicorn (neither is used here), whose bytes only a thread can decode, this
    is gthread unchanged. Relies on gthread's internals as of gunicorn 27 (pyproject.toml).
    """

    def init_process(self):
        cfg = self.cfg
        # gunicorn's parser refuses a longer head (its max_buffer_headers plus the request
        # line), but only after a blocking read for more: such a head is refused here.
        self.head_limit = (
            cfg.limit_request_line
            + 4
            + cfg.limit_request_fields * (cfg.limit_request_field_size + 2)
        )
        super().init_process()

    def enqueue_req(self, conn):
        if self.head_complete(conn) or self.cfg.is_ssl or self.cfg.http2_cleartext != "off":
            return super().enqueue_req(conn)
        conn.init()  # plain HTTP/1.x: makes the parser, reads nothing
        conn.sock.setblocking(False)
        # Same delay for every entry, so pending_conns stays sorted by deadline, as the base
        # class's murder_pending (which closes the late ones) expects; the base class's own
        # entries (connections deferred by a thread) never occur, as no thread waits here.
        conn.timeout = time.monotonic() + HEAD_TIMEOUT
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_head_readable, conn))

    def handle_request(self, req, conn):
        unreader = conn.parser.unreader
        sock = unreader.sock
        unreader.sock = body_sock = _BodyDeadline(sock, time.monotonic() + BODY_TIMEOUT)
        try:
            keepalive = super().handle_request(req, conn)
        finally:
            unreader.sock = sock
        # A body cut off by its deadline leaves the rest unread: close, do not drain it.
        return keepalive and not body_sock.expired

    @staticmethod
    def head_complete(conn) -> bool:
        return conn.parser is not None and b"\r\n\r\n" in conn.parser.unreader.buf.getvalue()

    def on_head_readable(self, conn, sock):
        try:
            data = sock.recv(_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        complete = False
        if data:
            unreader = conn.parser.unreader
            unreader.unread(unreader.take_buffered() + data)
            complete = self.head_complete(conn)
            if not complete and len(unreader.buf.getvalue()) <= self.head_limit:
                return  # waits on, with its deadline unchanged
        self.poller.unregister(sock)
        self.pending_conns.remove(conn)
        if complete:
            return super().enqueue_req(conn)
        if data:  # longer than any head gunicorn accepts
            with contextlib.suppress(OSError):  # a few bytes: the send buffer takes them
                sock.send(HEAD_TOO_LARGE)
        self.nr_conns -= 1
        conn.close()


class _BodyDeadline:
    """A connection's socket as the request parser reads it during one request: each recv
    waits at most until `deadline`, then raises TimeoutError (an OSError)."""

    def __init__(self, sock, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.expired = False

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.expired = True
            raise TimeoutError("the request body did not arrive in time")
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except TimeoutError:
            self.expired = True
            raise
        finally:
            self.sock.settimeout(None)  # blocking again, as gthread's threads expect

    def __getattr__(self, name):
        return getattr(self.sock, name)
