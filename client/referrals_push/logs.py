"""Web-server and CDN logs summarized into daily agent-traffic rows.

One row per (UTC day of the request, user agent, path without query string) with the number
of requests as `hits`. Lines that are no request of the format are reported with their
`file:line` (BadRow), never dropped without a word. The server decides which user agents are
AI agents; every user agent is sent, and the others come back `rejected`.
"""

import datetime as dt
import json
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from referrals_push.readers import Skipped, open_text, source_name
from referrals_push.records import AGENTS, BadRow, Row

LOG_FORMATS = ("nginx", "apache", "cloudflare")
MAX_USER_AGENT = AGENTS.texts["raw_user_agent"]
MAX_PATH = AGENTS.texts["raw_page_value"]

# The combined format, as nginx and Apache write it:
# %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" (anything after is ignored).
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(
    r"^(?:\S+:\d+ )?"  # Apache's vhost_combined starts with host:port
    r"\S+ \S+ (?:\S+|\".*?\") \[(?P<time>[^\]]+)\] "
    + _QUOTED.replace("(", "(?P<request>", 1)
    + r" (?P<status>\d{3}|-) (?P<size>\S+)"
    + r" "
    + _QUOTED.replace("(", "(?P<referrer>", 1)
    + r" "
    + _QUOTED.replace("(", "(?P<agent>", 1)
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")


@dataclass
class _Tally:
    hits: int
    origin: str
    verified: bool | None  # None: not known for any line; else every line's verdict and-ed
    known: bool


class NoRequest(ValueError):
    """A well-formed line that logs no agent's request: a connection closed before it sent
    one (nginx's `"-" 400` or `408`), a TLS handshake on port 80, a request without a user
    agent. Every public server has some every day; they are skipped (and counted), not
    invalid rows to fix."""


def unescape(text: str) -> str:
    """nginx writes `"` and bytes outside ASCII as \\xHH, Apache as \\" and \\\\."""

    def one(match: re.Match) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] == "x" and len(code) == 3 else code

    if "\\" not in text:
        return text
    raw = _ESCAPE.sub(one, text)
    try:  # \xHH sequences are UTF-8 bytes
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def page_path(target: str) -> str:
    """The path of a request target, without query string or fragment; ValueError if none."""
    if target.startswith(("http://", "https://")):
        target = urlsplit(target).path or "/"
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        raise ValueError(f"request target {target[:80]!r} is not a path")
    if len(path) > MAX_PATH:
        raise ValueError(f"path longer than {MAX_PATH} characters")
    return path


def _user_agent(text: str) -> str:
    agent = text.strip()
    if not agent:
        raise NoRequest("no user agent: no agent's request")
    if len(agent) > MAX_USER_AGENT:
        raise ValueError(f"user agent longer than {MAX_USER_AGENT} characters")
    if "\x00" in agent:
        raise ValueError("user agent contains a NUL character")
    return agent


def parse_combined(line: str) -> tuple[str, str, str]:
    """(UTC date, user agent, path) of one combined-format line, or ValueError."""
    match = COMBINED.match(line)
    if not match:
        raise ValueError("not a combined log line")
    try:
        when = dt.datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        raise ValueError(f"time {match['time']!r} is not dd/Mon/yyyy:HH:MM:SS +zzzz") from None
    parts = unescape(match["request"]).split(" ")
    refused = match["status"] == "-" or match["status"].startswith("4")
    if len(parts) < 2:
        if refused:
            raise NoRequest(f"no HTTP request (status {match['status']}): not a page fetch")
        raise ValueError(f"request {match['request'][:80]!r} is not 'METHOD target HTTP/x'")
    try:
        path = page_path(parts[1])
    except ValueError as exc:
        if refused:  # a scanner's CONNECT host:443 or OPTIONS *, refused by the server
            raise NoRequest(f"no page request (status {match['status']}): {exc}") from None
        raise
    return when.astimezone(dt.UTC).date().isoformat(), _user_agent(unescape(match["agent"])), path


def _timestamp(value) -> dt.datetime:
    """Logpush's EdgeStartTimestamp: RFC 3339, or Unix seconds, milliseconds or nanoseconds."""
    if isinstance(value, bool):
        raise ValueError(f"timestamp {value!r} is not a time")
    if isinstance(value, int | float):
        seconds = float(value)
        for threshold, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):  # ns, us, ms
            if seconds > threshold:
                seconds /= scale
                break
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, str):
        if value.isdigit():
            return _timestamp(int(value))
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone")
        return when
    raise ValueError(f"timestamp {value!r} is not a time")


def _verified(record: dict) -> bool | None:
    """Cloudflare's own check of a bot's IP: VerifiedBotCategory (or BotScoreSrc) when logged."""
    if "VerifiedBotCategory" in record:
        return bool(record["VerifiedBotCategory"])
    if "BotScoreSrc" in record:
        return record["BotScoreSrc"] == "Verified Bot"
    return None


def parse_cloudflare(line: str) -> tuple[str, str, str, bool | None]:
    """(UTC date, user agent, path, verified) of one Logpush http_requests record."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    stamp = record.get("EdgeStartTimestamp", record.get("EdgeEndTimestamp"))
    if stamp is None:
        raise ValueError("no EdgeStartTimestamp")
    try:
        when = _timestamp(stamp)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"EdgeStartTimestamp: {exc}") from None
    target = record.get("ClientRequestPath") or record.get("ClientRequestURI")
    if not isinstance(target, str) or not target:
        raise ValueError("no ClientRequestPath or ClientRequestURI")
    agent = record.get("ClientRequestUserAgent")
    if not isinstance(agent, str):
        raise ValueError("no ClientRequestUserAgent")
    date = when.astimezone(dt.UTC).date().isoformat()
    return date, _user_agent(agent), page_path(target), _verified(record)


def _lines(path: str) -> Iterator[tuple[int, str]]:
    with open_text(path, errors="replace") as stream:  # a scanner's bytes stay one line
        for number, line in enumerate(stream, 1):
            yield number, line.rstrip("\r\n")


def summarize_logs(
    paths: Iterable[str],
    *,
    log_format: str,
    batch_id: str | None = None,
    dates: Collection[str] | None = None,
) -> Iterator[Row | BadRow | Skipped]:
    """Bad (and skipped) lines as they are met, then the daily rows, sorted (so a resumed run
    sends the same rows in the same order).

    `dates` (YYYY-MM-DD), when given, are the only days summarized: a pushed row replaces the
    stored one, so a day that the files hold only part of (logs rotated at another time than
    midnight UTC) would replace the day's hits with that part. The other days come out as one
    Skipped each."""
    tallies: dict[tuple[str, str, str], _Tally] = {}
    other_days: dict[str, list] = {}  # day -> [requests, origin of the first]
    for path in paths:
        name = source_name(path)
        for number, line in _lines_safe(path, name):
            if isinstance(line, BadRow):
                yield line
                break
            if not line.strip():
                continue
            origin = f"{name}:{number}"
            try:
                if log_format == "cloudflare":
                    date, agent, page, verified = parse_cloudflare(line)
                else:
                    date, agent, page = parse_combined(line)
                    verified = None
            except NoRequest as exc:
                yield Skipped(origin, str(exc))
                continue
            except ValueError as exc:
                yield BadRow(origin, str(exc))
                continue
            if dates is not None and date not in dates:
                other_days.setdefault(date, [0, origin])[0] += 1
                continue
            key = (date, agent, page)
            tally = tallies.get(key)
            if tally is None:
                tallies[key] = _Tally(1, origin, verified, verified is not None)
                continue
            tally.hits += 1
            if verified is not None:
                tally.verified = verified if not tally.known else (tally.verified and verified)
                tally.known = True
    for date, (requests, origin) in sorted(other_days.items()):
        yield Skipped(origin, f"{requests} request(s) of {date}, not a --date day: not sent")
    for (date, agent, page), tally in sorted(tallies.items()):
        data = {"date": date, "raw_user_agent": agent, "raw_page_value": page, "hits": tally.hits}
        if tally.known:
            data["verified"] = tally.verified
        if batch_id:
            data["batch_id"] = batch_id
        yield Row(data, tally.origin)


def _lines_safe(path: str, name: str) -> Iterator[tuple[int, str | BadRow]]:
    """A file's lines; a file that cannot be read (missing, bad gzip) ends as one BadRow."""
    number = 0
    try:
        for number, line in _lines(path):
            yield number, line
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        yield number + 1, BadRow(f"{name}:{number + 1}", f"cannot read: {exc}")
