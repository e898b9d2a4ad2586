"""gunicorn as a plain `gunicorn project.wsgi` starts it: gunicorn.conf.py's settings, and a
request head trickled byte by byte holds no thread (the pages asked for touch no database)."""

import contextlib
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from reliability.harness import free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(ROOT / ".venv/bin/gunicorn")
REQUEST = b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# The head_limit of project.workers under gunicorn.conf.py's limits.
HEAD_LIMIT = 4094 + 4 + 50 * (8190 + 2)
LAST_REQUEST = REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")


@pytest.fixture
def one_thread_server(tmp_path):
    """One worker with one thread: a single connection holding it would stop the service."""
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "REQUEST_BODY_TIMEOUT": "1",
    }
    server = start_gunicorn(env, port, workers=1, extra_args=("--threads", "1"))
    yield port
    server.terminate()
    server.wait(20)


def exchange(port: int, data: bytes) -> bytes:
    """Send `data` on a new connection; what comes back until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return read_to_end(sock)


def read_to_end(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def project_output(command: list[str], env: dict | None = None) -> str:
    """What `command` prints, run from the project directory (it must succeed)."""
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


def gunicorn_config(env: dict | None = None) -> str:
    """What `gunicorn --print-config project.wsgi` prints from the project directory."""
    return project_output([GUNICORN, "--print-config", "project.wsgi"], env)


def test_a_plain_start_reads_gunicorn_conf():
    printed = gunicorn_config()
    settings = {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in printed.splitlines())
    }
    assert settings["worker_class"] == "project.workers.HeadBufferingThreadWorker"
    assert int(settings["threads"]) >= 4
    assert int(settings["keepalive"]) > 0
    assert int(settings["limit_request_fields"]) <= 100


def test_a_trickled_head_holds_no_thread(one_thread_server):
    port = one_thread_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.sendall(LAST_REQUEST[:10])
        time.sleep(0.5)  # the head is waiting in the main loop now, not in the one thread
        # Were the one thread waiting for the slow head, this exchange would get no answer
        # before the slow client finishes (after it): its 5-second socket timeout would fail it.
        assert exchange(port, LAST_REQUEST).startswith(b"HTTP/1.1 200 ")
        for i in range(10, len(LAST_REQUEST)):  # the slow one is served once its head is whole
            slow.sendall(LAST_REQUEST[i : i + 1])
        assert read_to_end(slow).startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_and_oversized_heads(one_thread_server):
    port = one_thread_server
    assert exchange(port, REQUEST + LAST_REQUEST).count(b"HTTP/1.1 200 ") == 2
    huge = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert exchange(port, huge).startswith(b"HTTP/1.1 431 ")
    # A head that never ends is refused once longer than any gunicorn accepts.
    endless = b"GET / HTTP/1.1\r\nX-Big: "
    endless += b"a" * (HEAD_LIMIT + 1 - len(endless))
    assert exchange(port, endless).startswith(b"HTTP/1.1 431 ")


@contextlib.contextmanager
def slow_form(port: int, path: str):
    """A connection that sent a form's head and the start of its body, and never the rest.

    With a CSRF cookie, the CSRF check reads the form for its token: the body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + b"Cookie: csrftoken="
        + b"a" * 32
        + b"\r\n"
        + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.sendall(head + b"username=a")
        yield slow


def test_a_trickled_body_holds_the_thread_only_until_its_deadline(one_thread_server):
    # A body is read by the thread serving the request: one that never ends held that thread
    # for good (gunicorn reads it with a blocking read and no deadline), and as many such
    # clients as threads stopped the service. It now has REQUEST_BODY_TIMEOUT (1 s here).
    port = one_thread_server
    with slow_form(port, "/accounts/login/") as slow:
        # Served once the slow request gives up its thread (5-second socket timeout).
        assert exchange(port, LAST_REQUEST).startswith(b"HTTP/1.1 200 ")
        assert read_to_end(slow).startswith(b"HTTP/1.1 4")  # refused, then closed


def test_an_admin_form_whose_body_timed_out_is_a_400(one_thread_server):
    # The admin's NUL check reads the form before the CSRF check does: the body's read failed
    # there (Django's UnreadablePostError), a 500; the client's fault, a 400. (Elsewhere the
    # CSRF check reads it first and answers 403, or the form is empty.)
    with slow_form(one_thread_server, "/admin/login/") as slow:
        assert read_to_end(slow).startswith(b"HTTP/1.1 400 ")


def gunicorn_start(**env: str) -> subprocess.CompletedProcess:
    """A start that is expected to stop by itself (refused settings)."""
    return subprocess.run(
        [GUNICORN, "project.wsgi", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("WORKERS", "0"),
        ("WORKERS", "two"),
        ("REQUEST_BODY_TIMEOUT", "0"),
        ("REQUEST_BODY_TIMEOUT", "-1"),
        ("REQUEST_BODY_TIMEOUT", "nan"),
    ],
)
def test_gunicorn_refuses_a_worker_count_or_body_deadline_out_of_range(variable, raw):
    # WORKERS=0 started a master that listened and never answered; REQUEST_BODY_TIMEOUT=0 or
    # below made every request body late (every push a 400), NaN none ever late; a word was a
    # traceback naming no variable.
    result = gunicorn_start(**{variable: raw})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable} must be" in result.stderr


def test_gunicorn_reads_empty_values_as_the_defaults():
    env = {**os.environ, "WORKERS": "", "REQUEST_BODY_TIMEOUT": ""}
    printed = gunicorn_config(env)
    assert re.search(r"^workers\s*=\s*2$", printed, re.MULTILINE)
    read_timeout = "import project.workers as w; print(w.BODY_TIMEOUT)"
    body_timeout = project_output([str(ROOT / ".venv/bin/python"), "-c", read_timeout], env)
    assert body_timeout.strip() == "60.0"


def test_masters_on_one_host_share_no_control_socket(tmp_path):
    # gunicorn 25+ opens a control socket (gunicornc) at one path per user, $HOME/.gunicorn/
    # gunicorn.ctl: every master on a host took it over from the one before (so `gunicornc -c
    # "worker add 2"` or a shutdown reached whichever service started last), and the first to
    # exit removed it for all. The docs restart with `kill -HUP <master pid>`.
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(runtime),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    servers = []
    try:
        for _ in range(2):
            servers.append(start_gunicorn(env, free_port()))
        assert not (tmp_path / ".gunicorn").exists()
        assert list(runtime.iterdir()) == []
    finally:
        for server in servers:
            server.terminate()
            server.wait(20)
