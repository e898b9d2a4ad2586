"""The `referrals-push` command: `referrals` and `agents`, a summary, and exit codes."""

import argparse
import datetime as dt
import hashlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from referrals_push.logs import LOG_FORMATS, summarize_logs
from referrals_push.progress import stderr_progress
from referrals_push.push import (
    EXIT_USAGE,
    MAX_BATCH_BYTES,
    MAX_BATCH_ROWS,
    TOKEN_VARIABLE,
    PushResult,
    base_url_check,
    push_rows,
    token_clean,
)
from referrals_push.readers import FORMATS, STDIN, read_rows
from referrals_push.records import AGENTS, PRESET_NAMES, REFERRALS, Row
from referrals_push.state import StateError
from referrals_push.version import __version__

EPILOG = f"""
The API token comes from the environment variable {TOKEN_VARIABLE}.
Exit codes: 0 every row sent (accepted, or rejected by the allow-list); 1 rows not sent
because they are invalid (reported with file:line); 2 usage error; 3 the server refused a push
(its message is shown); 4 the server stayed unavailable (429, 5xx, network) past the retries;
130 interrupted. After 3, 4 or 130, run again with the same --resume file to go on.
"""


def _mapping(values: list[str]) -> dict[str, str]:
    mapping = {}
    for value in values:
        name, sep, column = value.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise argparse.ArgumentTypeError(f"--map {value!r}: expected FIELD=COLUMN")
        mapping[name.strip()] = column.strip()
    return mapping


def delimiter_option(value: str | None) -> str | None:
    """--delimiter: one character; `\\t` or `tab` for a tab (a shell script cannot easily
    type one); empty: guessed from the header. ValueError otherwise."""
    if not value:
        return None
    if value == "\\t" or value.lower() == "tab":
        return "\t"
    if len(value) != 1:
        raise ValueError("--delimiter must be one character (or \\t, tab)")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="input files; - for stdin")
    parser.add_argument("--base-url", required=True, help="the service's root, without /v1")
    parser.add_argument("--brand", required=True, help="brand id")
    parser.add_argument("--connection", required=True, help="connection id")
    parser.add_argument("--dry-run", action="store_true", help="validate only; store nothing")
    parser.add_argument("--resume", metavar="STATE_FILE", help="keep progress here; go on")
    parser.add_argument("--batch-id", help="batch_id for rows that have none")
    parser.add_argument("--batch-rows", type=int, default=MAX_BATCH_ROWS, help="rows per push")
    parser.add_argument(
        "--batch-bytes", type=int, default=MAX_BATCH_BYTES, help="NDJSON bytes per push"
    )
    parser.add_argument("--no-gzip", action="store_true", help="send bodies uncompressed")
    parser.add_argument("--max-attempts", type=int, default=10, help="tries per batch")
    parser.add_argument("--retry-base", type=float, default=1.0, help="first backoff, seconds")
    parser.add_argument("--retry-cap", type=float, default=60.0, help="longest backoff, seconds")
    parser.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress, only the summary")


def _table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="the column (or JSON key) for a field; repeatable; wins over the preset",
    )
    parser.add_argument("--format", choices=FORMATS, help="default: from the name or content")
    parser.add_argument("--delimiter", help="CSV delimiter; default: guessed from the header")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="referrals-push",
        description="Push daily rows to the AI Referrals service.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    referrals = commands.add_parser(
        "referrals",
        help="AI-referral rows from CSV, NDJSON or JSON",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(referrals)
    referrals.add_argument("--preset", choices=PRESET_NAMES, help="the export's column names")
    _table_options(referrals)
    agents = commands.add_parser(
        "agents",
        help="agent-traffic rows from web-server or CDN logs (or rows)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(agents)
    agents.add_argument(
        "--log-format",
        required=True,
        choices=(*LOG_FORMATS, "rows"),
        help="nginx/apache: combined log; cloudflare: Logpush NDJSON; rows: CSV/NDJSON/JSON",
    )
    agents.add_argument(
        "--date",
        action="append",
        metavar="YYYY-MM-DD",
        help="logs: push only this UTC day (repeatable); give every file holding part of it",
    )
    _table_options(agents)
    return parser


def _fingerprint(args, mapping: dict) -> str:
    """The run's identity for --resume: what decides the row stream, and the inputs' bytes."""
    digest = hashlib.sha256()
    options = (
        args.command,
        getattr(args, "preset", None),
        getattr(args, "log_format", None),
        sorted(mapping.items()),
        args.format,
        args.delimiter,
        args.batch_id,
    )
    if getattr(args, "date", None):
        options += (sorted(args.date),)
    digest.update(repr(options).encode())
    for name in args.files:
        digest.update(name.encode() + b"\0")
        try:
            with open(name, "rb") as stream:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


def _estimate_rows(files: list[str]) -> int | None:
    """About how many rows (lines) the inputs hold, for the bar; None when it cannot know."""
    total = 0
    for name in files:
        path = Path(name)
        if name == STDIN or not path.is_file() or name.endswith(".gz"):
            return None
        with open(path, "rb") as stream:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    return total


def _with_batch_id(rows, batch_id: str | None) -> Iterator:
    for row in rows:
        if batch_id and isinstance(row, Row):
            row.data.setdefault("batch_id", batch_id)
        yield row


def _rows(args, mapping: dict) -> Iterator:
    if args.command == "agents" and args.log_format != "rows":
        yield from summarize_logs(
            args.files, log_format=args.log_format, batch_id=args.batch_id, dates=args.date
        )
        return
    kind = REFERRALS if args.command == "referrals" else AGENTS
    for name in args.files:
        yield from read_rows(
            name,
            kind=kind,
            preset=getattr(args, "preset", None),
            mapping=mapping,
            fmt=args.format,
            delimiter=args.delimiter,
        )


def summary_lines(result: PushResult, *, command: str) -> list[str]:
    mode = " (dry run: nothing stored)" if result.dry_run else ""
    rate = result.rows_sent / result.seconds if result.seconds else 0.0
    lines = [
        f"referrals-push {command}{mode}",
        f"  rows read      {result.rows_read:>12,}",
    ]
    if result.rows_resumed:
        lines.append(f"  already sent   {result.rows_resumed:>12,}  (resumed from the state file)")
    lines += [
        f"  sent           {result.rows_sent:>12,}  in {result.batches:,} batches, "
        f"{result.seconds:.1f} s, {rate:,.0f} rows/s",
        f"  accepted       {result.accepted:>12,}",
        f"  rejected       {result.rejected:>12,}  (not on the allow-list: not an error)",
        f"  invalid        {result.invalid_count:>12,}  (not sent)",
    ]
    if result.skipped_count:
        lines.append(
            f"  skipped        {result.skipped_count:>12,}  (totals rows, no request, not a --date)"
        )
    if result.retries:
        lines.append(f"  retries        {result.retries:>12,}")
    for bad in result.invalid[:20]:
        lines.append(f"  invalid: {bad.origin}: {bad.message}")
    if result.invalid_count > 20:
        lines.append(f"  ... {result.invalid_count - 20:,} more invalid rows (listed above)")
    for message in result.rejections[:10]:
        lines.append(f"  rejected: {message}")
    for message in result.warnings[:10]:
        lines.append(f"  warning: {message}")
    status = "ok" if result.exit_code == 0 else (result.failure or "invalid rows were not sent")
    lines.append(f"  result         {status}")
    lines.append(f"  exit code      {result.exit_code}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        mapping = _mapping(args.map)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    try:
        token = token_clean(os.environ.get(TOKEN_VARIABLE, ""))
    except ValueError as exc:
        parser.error(str(exc))
    if not token:
        parser.error(f"set the API token in the environment variable {TOKEN_VARIABLE}")
    try:
        base_url_check(args.base_url)
    except ValueError as exc:
        parser.error(str(exc))
    batch_id_limit = REFERRALS.texts["batch_id"]
    if args.batch_id and len(args.batch_id) > batch_id_limit:  # else every row would be a 422
        parser.error(f"--batch-id must be at most {batch_id_limit} characters")
    try:
        args.delimiter = delimiter_option(args.delimiter)
    except ValueError as exc:
        parser.error(str(exc))
    if args.timeout <= 0:
        parser.error("--timeout must be more than 0 seconds")
    if args.retry_base < 0 or args.retry_cap < 0:
        parser.error("--retry-base and --retry-cap must be 0 or more seconds")
    if args.max_attempts < 1:
        parser.error("--max-attempts must be at least 1")
    if getattr(args, "date", None):
        if args.log_format == "rows":
            parser.error("--date is for logs (--log-format nginx, apache or cloudflare)")
        try:
            args.date = sorted({dt.date.fromisoformat(day).isoformat() for day in args.date})
        except ValueError:
            parser.error(f"--date must be a day, YYYY-MM-DD, not {' '.join(args.date)!r}")
    if args.resume and STDIN in args.files:
        parser.error("--resume needs files: stdin cannot be read again")
    if not 1 <= args.batch_rows <= MAX_BATCH_ROWS:
        parser.error(f"--batch-rows must be between 1 and {MAX_BATCH_ROWS}")
    if args.batch_bytes < 1024:
        parser.error("--batch-bytes must be at least 1024")
    fingerprint = _fingerprint(args, mapping) if args.resume else ""
    rows = _with_batch_id(_rows(args, mapping), args.batch_id)
    total = None
    if not args.quiet and sys.stderr.isatty():
        if args.command == "agents" and args.log_format != "rows":
            rows = list(rows)  # the logs are summarized before anything is sent anyway
            total = sum(isinstance(row, Row) for row in rows)
        else:
            total = _estimate_rows(args.files)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # a scheduler's stop (SIGTERM) ends the run as Ctrl-C does, state saved
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = push_rows(
            rows,
            base_url=args.base_url,
            brand=args.brand,
            connection=args.connection,
            token=token,
            kind=REFERRALS if args.command == "referrals" else AGENTS,
            dry_run=args.dry_run,
            state_file=args.resume,
            fingerprint=fingerprint,
            batch_rows=args.batch_rows,
            batch_bytes=args.batch_bytes,
            compress=not args.no_gzip,
            max_attempts=args.max_attempts,
            backoff_base=args.retry_base,
            backoff_cap=args.retry_cap,
            timeout=args.timeout,
            progress=stderr_progress(total, quiet=args.quiet),
            check=False,
        )
    except StateError as exc:
        print(f"referrals-push: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if result.failure:
        print(f"referrals-push: {result.failure}", file=sys.stderr)
    print("\n".join(summary_lines(result, command=args.command)))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
