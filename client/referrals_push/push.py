"""Rows in, batches out: batching, gzip, retries with backoff, 413 splits, resume, outcome.

Batches hold at most `batch_rows` rows and `batch_bytes` bytes of NDJSON (the size the server
checks, after decompression). A batch answered 429, 5xx or not at all is sent again after
`Retry-After` or a capped exponential backoff with jitter; one answered 413 is sent as two
halves; 422 and other 4xx stop the push with the server's message and the rows' origins.
Pushes are idempotent on the server's upsert key, so sending a batch again never counts twice.
"""

import datetime as dt
import gzip
import json
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from referrals_push.progress import Progress
from referrals_push.records import KINDS, REFERRALS, BadRow, Kind, Row
from referrals_push.state import PushState
from referrals_push.version import __version__

TOKEN_VARIABLE = "REFERRALS_API_TOKEN"
MAX_BATCH_ROWS = 10_000
MAX_BATCH_BYTES = 5 * 1024 * 1024

# Exit codes, for schedulers (README "Exit codes").
EXIT_OK = 0  # every row sent, accepted or rejected by the allow-list
EXIT_INVALID = 1  # rows not sent: unreadable input rows, or the server refused them (422)
EXIT_USAGE = 2  # the command line or the state file is wrong; nothing was sent
EXIT_CLIENT_ERROR = 3  # the server refused a push (401, 403, 404, 410, 400, 415, ...)
EXIT_UNAVAILABLE = 4  # the server stayed unavailable (429, 5xx, network) past the retries
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; --resume continues where it stopped

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_LISTED = 100
MAX_RETRY_AFTER = 300.0


class PushStopped(Exception):
    """The push cannot go on: the exit code, the server's message, the rows concerned."""

    def __init__(self, code: int, message: str, origins: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.origins = origins or []


class PushFailed(Exception):
    """Raised by push_rows(check=True) when the result is not a clean success."""

    def __init__(self, result: "PushResult"):
        super().__init__(result.failure or f"{result.invalid_count} invalid row(s)")
        self.result = result


@dataclass
class PushResult:
    """What a push did; `exit_code` is the command's."""

    rows_read: int = 0  # valid rows read, those a resumed run skipped included
    rows_resumed: int = 0  # skipped: an earlier run pushed them (state file)
    rows_sent: int = 0  # pushed in this run and answered 200
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0
    invalid_count: int = 0
    invalid: list[BadRow] = field(default_factory=list)  # the first MAX_LISTED
    skipped: list = field(default_factory=list)  # the first MAX_LISTED
    skipped_count: int = 0  # totals rows, lines of no request, other days: not an error
    rejections: list[str] = field(default_factory=list)  # the server's reasons, each once
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None
    failed_origins: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    exit_code: int = EXIT_OK


@dataclass
class Batch:
    lines: list[bytes]
    origins: list[str]
    payload: bytes | None = None  # the body as sent (gzipped), made ahead by the reader thread

    @property
    def size(self) -> int:
        return sum(len(line) for line in self.lines) + len(self.lines) - 1

    def body(self) -> bytes:
        return b"\n".join(self.lines)

    def halves(self) -> tuple["Batch", "Batch"]:
        middle = len(self.lines) // 2
        return (
            Batch(self.lines[:middle], self.origins[:middle]),
            Batch(self.lines[middle:], self.origins[middle:]),
        )


BAD_TOKEN = (
    f"the API token in {TOKEN_VARIABLE} holds characters no token has (a space, a line break "
    "inside, or a non-ASCII character): copy the key again"
)


def token_clean(token: str) -> str:
    """The token without the whitespace around it (a secret file's trailing newline);
    ValueError (BAD_TOKEN, which never repeats it) when no Authorization header can carry it."""
    token = token.strip()
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ValueError(BAD_TOKEN)
    return token


def base_url_check(base_url: str) -> None:
    """ValueError unless `base_url` is an http(s) URL with a host: without a scheme every
    request would fail as a network error, retried for minutes, then exit 4 (run again later)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"--base-url must be an http:// or https:// URL, the service's root "
            f"(https://referrals.example.com), not {base_url!r}"
        )


def _json_value(value):
    """What a database query gives (a DATE, a NUMERIC) as the API takes it."""
    if type(value) is dt.date:
        return value.isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is no JSON value")


def encode_row(data: dict) -> bytes:
    """The row's NDJSON line; ValueError for what the service's JSON cannot hold (NaN or
    Infinity, which Python's json reads and writes; a lone surrogate, which is no UTF-8; an
    object of another type)."""
    try:
        return json.dumps(
            data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_value
        ).encode()
    except TypeError as exc:
        raise ValueError(f"it cannot be sent as JSON: {exc}") from None
    except UnicodeEncodeError:
        raise ValueError("it cannot be sent as JSON: a lone surrogate is no Unicode text") from None
    except ValueError:
        raise ValueError("it cannot be sent as JSON: NaN or Infinity is no JSON number") from None


def batches_of(
    rows: Iterable[Row],
    *,
    max_rows: int,
    max_bytes: int,
    too_large: Callable[[Row], None],
    unsendable: Callable[[Row, str], None] | None = None,
) -> Iterator[Batch]:
    """Consecutive batches within both limits; a row alone over `max_bytes` goes to too_large,
    one that cannot be encoded to unsendable (with the reason)."""
    lines: list[bytes] = []
    origins: list[str] = []
    size = -1
    for row in rows:
        try:
            line = encode_row(row.data)
        except ValueError as exc:
            if unsendable is None:
                raise
            unsendable(row, str(exc))
            continue
        if len(line) > max_bytes:
            too_large(row)
            continue
        if lines and (len(lines) >= max_rows or size + 1 + len(line) > max_bytes):
            yield Batch(lines, origins)
            lines, origins, size = [], [], -1
        lines.append(line)
        origins.append(row.origin)
        size += 1 + len(line)
    if lines:
        yield Batch(lines, origins)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), at most MAX_RETRY_AFTER."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body["detail"]
    return json.dumps(body)[:500]


def _outcome(response: httpx.Response) -> dict | None:
    """The 200 body of a push ({"accepted": n, "rejected": m, ...}), or None when it is not one
    (a web site or a proxy answering for the service)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    counts = (body.get("accepted"), body.get("rejected"))
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return None
    return body


def _with_origin(message: str, origins: list[str]) -> tuple[str, str]:
    """(reason, origin) of `event 3: reason`, the origin the batch's row 3 (`file.csv:5`)."""
    head, _, rest = message.partition(": ")
    if head.startswith("event ") and head[6:].isdigit() and int(head[6:]) < len(origins):
        return rest, origins[int(head[6:])]
    return message, ""


class Pusher:
    """Sends batches to one connection's events endpoint, with retries and 413 splits."""

    def __init__(
        self,
        *,
        base_url: str,
        brand: str | int,
        connection: str,
        token: str,
        kind: Kind,
        dry_run: bool,
        compress: bool = True,
        max_attempts: int = 10,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        timeout: float = 120.0,
        http: httpx.Client | None = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        root = base_url.rstrip("/")
        self.url = f"{root}/v1/{brand}/{kind.path}/connections/{connection}/events"
        self.params = {"dry_run": "true"} if dry_run else {}
        self.compress = compress
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_wait = on_wait or (lambda message: None)
        self.http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-ndjson",
            "User-Agent": f"referrals-push/{__version__}",
        }
        if compress:
            self.headers["Content-Encoding"] = "gzip"
        self.retries = 0

    def backoff(self, attempt: int) -> float:
        """Capped exponential, with jitter: between half and all of base * 2^(attempt-1)."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(delay / 2, delay)

    def send(self, batch: Batch, done: Callable[[Batch, dict], None]) -> None:
        """Push `batch` (in halves after a 413), calling done(part, body) per stored part."""
        response = self._post(batch)
        if response.status_code == 200:
            body = _outcome(response)
            if body is None:
                kind = response.headers.get("Content-Type", "no content type")
                raise PushStopped(
                    EXIT_CLIENT_ERROR,
                    f"HTTP 200 without a push outcome ({kind}) from {self.url}: is --base-url "
                    f"the service's root? (rows {batch.origins[0]}..{batch.origins[-1]})",
                    batch.origins,
                )
            done(batch, body)
            return
        if response.status_code == 413 and len(batch.lines) > 1:
            first, second = batch.halves()
            self.on_wait(f"413 for {len(batch.lines)} rows: sending them in two halves")
            self.send(first, done)
            self.send(second, done)
            return
        raise self._stop(batch, response)

    def payload(self, batch: Batch) -> bytes:
        if batch.payload is None:
            body = batch.body()
            batch.payload = gzip.compress(body, compresslevel=5) if self.compress else body
        return batch.payload

    def _post(self, batch: Batch) -> httpx.Response:
        body = self.payload(batch)
        for attempt in range(1, self.max_attempts + 1):
            headers = {**self.headers, "X-Request-ID": f"push-{uuid.uuid4().hex}"}
            try:
                response = self.http.post(
                    self.url, content=body, headers=headers, params=self.params
                )
            except httpx.TransportError as exc:
                problem, wait, response = f"network error ({self._reason(exc)})", None, None
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem, wait = f"HTTP {response.status_code}", retry_after(response)
            if attempt == self.max_attempts:
                where = f"{batch.origins[0]}..{batch.origins[-1]}"
                detail = f": {_detail(response)}" if response is not None else ""
                raise PushStopped(
                    EXIT_UNAVAILABLE,
                    f"server unavailable: {problem}{detail} after {attempt} attempts "
                    f"(rows {where} not sent; --resume continues from them)",
                    batch.origins,
                )
            delay = (wait + random.uniform(0, 0.25)) if wait is not None else self.backoff(attempt)
            self.retries += 1
            self.on_wait(f"{problem}; retry {attempt}/{self.max_attempts - 1} in {delay:.1f} s")
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _reason(self, exc: httpx.TransportError) -> str:
        """`ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] ...`: the class alone does not tell a
        refused connection from a certificate that does not verify. Never the token."""
        reason = " ".join(str(exc).split())[:300]
        token = self.headers["Authorization"].removeprefix("Bearer ")
        reason = reason.replace(token, "<token>") if token else reason
        return f"{exc.__class__.__name__}: {reason}" if reason else exc.__class__.__name__

    def _stop(self, batch: Batch, response: httpx.Response) -> PushStopped:
        status = response.status_code
        request_id = response.headers.get("X-Request-ID", "")
        trace = f" [request {request_id}]" if request_id else ""
        if status == 422:
            try:
                body = response.json()
                items = body["detail"]
                lines = []
                origins = []
                for item in items:
                    index = item["loc"][1] if len(item["loc"]) > 1 else None
                    origin = batch.origins[index] if isinstance(index, int) else "?"
                    field_name = item["loc"][2] if len(item["loc"]) > 2 else "row"
                    lines.append(f"  {origin}: {field_name}: {item['msg']}")
                    origins.append(origin)
                count = body.get("error_count", len(items))
            except (ValueError, KeyError, TypeError, IndexError):
                return PushStopped(EXIT_INVALID, f"HTTP 422{trace}: {_detail(response)}")
            more = f"\n  ... and {count - len(items)} more" if count > len(items) else ""
            message = (
                f"the server refused {count} invalid value(s); nothing of this batch was "
                f"stored{trace}:\n" + "\n".join(lines) + more
            )
            return PushStopped(EXIT_INVALID, message, origins)
        where = f"{batch.origins[0]}..{batch.origins[-1]}"
        if status == 413:
            detail = f"the row at {batch.origins[0]} alone is too large: {_detail(response)}"
        elif response.is_redirect:  # a POST is not followed: say where, not the page
            location = response.headers.get("Location", "")
            detail = f"redirected to {location}: is --base-url the service's root?"
        else:
            detail = _detail(response)
        return PushStopped(
            EXIT_CLIENT_ERROR, f"HTTP {status}{trace}: {detail} (rows {where})", batch.origins
        )


class ReadAhead:
    """Batches read, encoded and gzipped in a thread of their own, at most `depth` ahead, so the
    next batch is ready while the server stores the current one. The reader's exceptions come
    out of the iteration; close() stops the thread when the push stops early."""

    _END = object()

    def __init__(self, batches: Iterator[Batch], depth: int = 2):
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(batches,), name="referrals-push-reader", daemon=True
        )
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, batches: Iterator[Batch]) -> None:
        try:
            for batch in batches:
                if not self._put(batch):
                    return
            self._put(self._END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            item = self.queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def push_rows(
    rows: Iterable[Row | BadRow | dict],
    *,
    base_url: str,
    brand: str | int,
    connection: str,
    token: str | None = None,
    kind: str | Kind = REFERRALS,
    dry_run: bool = False,
    state_file: str | os.PathLike | None = None,
    fingerprint: str = "",
    batch_rows: int = MAX_BATCH_ROWS,
    batch_bytes: int = MAX_BATCH_BYTES,
    compress: bool = True,
    max_attempts: int = 10,
    backoff_base: float = 1.0,
    backoff_cap: float = 60.0,
    timeout: float = 120.0,
    progress=None,
    check: bool = True,
    http: httpx.Client | None = None,
) -> PushResult:
    """Push `rows` to a connection's events endpoint and say what happened.

    `rows`: event dicts (as the API takes them), or Row/BadRow from the readers. `kind`:
    "referrals" (ai-referrals) or "agents" (agent-traffic). `token`: defaults to the
    REFERRALS_API_TOKEN environment variable. `state_file`: where progress is kept after each
    stored batch; a later call with the same file, rows and `fingerprint` skips what was
    stored. `check`: raise PushFailed unless every row was sent (exit code 0).
    """
    kind = KINDS[kind] if isinstance(kind, str) else kind
    token = token_clean(token or os.environ.get(TOKEN_VARIABLE, ""))
    if not token:
        raise ValueError(f"no API token: pass token= or set {TOKEN_VARIABLE}")
    base_url_check(base_url)
    if not 1 <= batch_rows <= MAX_BATCH_ROWS:
        raise ValueError(f"batch_rows must be between 1 and {MAX_BATCH_ROWS}")
    if batch_bytes < 1024:
        raise ValueError("batch_bytes must be at least 1024")
    if backoff_base < 0 or backoff_cap < 0 or timeout <= 0:
        raise ValueError("backoff_base and backoff_cap must be 0 or more, timeout more than 0")
    progress = progress or Progress()
    result = PushResult(dry_run=dry_run)
    started = time.monotonic()
    pusher = Pusher(
        base_url=base_url,
        brand=brand,
        connection=connection,
        token=token,
        kind=kind,
        dry_run=dry_run,
        compress=compress,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        timeout=timeout,
        http=http,
        on_wait=progress.note,
    )
    state = None
    if state_file is not None and not dry_run:
        # The endpoint's path, not its host: a run may go on through another address.
        endpoint = urlsplit(pusher.url).path
        try:
            state = PushState.open(state_file, fingerprint=f"{endpoint}\n{fingerprint}")
        except ValueError:
            if http is None:
                pusher.http.close()
            raise
        result.accepted, result.rejected = state.accepted, state.rejected
    skip = state.rows_done if state else 0

    def invalid(bad: BadRow) -> None:
        result.invalid_count += 1
        if len(result.invalid) < MAX_LISTED:
            result.invalid.append(bad)
        progress.bad(bad, result.invalid_count)

    def valid_rows() -> Iterator[Row]:
        for number, item in enumerate(rows):
            if isinstance(item, dict):
                item = Row(item, f"row {number}")
            if isinstance(item, BadRow):
                invalid(item)
                continue
            if not isinstance(item, Row):
                result.skipped_count += 1
                if len(result.skipped) < MAX_LISTED:  # a log may have thousands
                    result.skipped.append(item)
                    progress.note(f"{item.origin}: {item.message}")
                continue
            result.rows_read += 1
            if result.rows_read <= skip:
                result.rows_resumed += 1
                continue
            yield item

    def too_large(row: Row) -> None:
        invalid(BadRow(row.origin, f"the row alone is over {batch_bytes} bytes"))

    def unsendable(row: Row, reason: str) -> None:
        invalid(BadRow(row.origin, reason))

    rejection_reasons: set[str] = set()

    def done(batch: Batch, body: dict) -> None:
        result.batches += 1
        result.rows_sent += len(batch.lines)
        result.accepted += body.get("accepted", 0)
        result.rejected += body.get("rejected", 0)
        for message in body.get("errors", []):  # each reason once, with its first row
            if message.startswith("... and "):
                continue  # the server's own truncation line
            reason, origin = _with_origin(message, batch.origins)
            if reason not in rejection_reasons and len(rejection_reasons) < MAX_LISTED:
                rejection_reasons.add(reason)
                result.rejections.append(f"{reason} (first: {origin})" if origin else reason)
        for message in body.get("warnings", []):
            if message not in result.warnings and len(result.warnings) < MAX_LISTED:
                result.warnings.append(message)
        if state is not None:
            state.advance(len(batch.lines), body.get("accepted", 0), body.get("rejected", 0))
        progress.advance(len(batch.lines), result)

    def prepared() -> Iterator[Batch]:
        for batch in batches_of(
            valid_rows(),
            max_rows=batch_rows,
            max_bytes=batch_bytes,
            too_large=too_large,
            unsendable=unsendable,
        ):
            pusher.payload(batch)
            yield batch

    progress.start(result)
    reader = ReadAhead(prepared())
    try:
        for batch in reader:
            pusher.send(batch, done)
    except PushStopped as stop:
        result.failure = stop.message
        result.failed_origins = stop.origins
        result.exit_code = stop.code
    except KeyboardInterrupt:
        result.failure = "interrupted" + (f"; --resume {state.path} continues" if state else "")
        result.exit_code = EXIT_INTERRUPTED
    finally:
        reader.close()
        result.retries = pusher.retries
        result.seconds = time.monotonic() - started
        progress.finish(result)
        if http is None:
            pusher.http.close()
    if result.exit_code == EXIT_OK and result.invalid_count:
        result.exit_code = EXIT_INVALID
    if state is not None and result.failure is None:
        state.finish()
    if check and result.exit_code != EXIT_OK:
        raise PushFailed(result)
    return result
