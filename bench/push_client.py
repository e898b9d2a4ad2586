"""Push-client benchmark: a 1,000,000-row Adobe Data Warehouse CSV through `referrals-push`
into gunicorn + PostgreSQL, end to end (read, parse the numbers, batch, gzip, HTTP, upsert).

Run with `make bench-client` (a throwaway PostgreSQL), or with DATABASE_URL set to an empty
PostgreSQL database. Prints rows per second and the client's peak memory (its ru_maxrss).
BENCH_CLIENT_ROWS changes the size.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)
from reliability.harness import setup_django, start_gunicorn  # noqa: E402
from reliability.workload import seed_objects  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "100000/min"

ROWS = int(os.environ.get("BENCH_CLIENT_ROWS", "1000000"))
REFERRERS = ("chatgpt.com", "www.perplexity.ai", "claude.ai", "gemini.google.com", "google.com")
PAGES = 2_000


def write_export(path: Path, rows: int) -> None:
    """Unique (day, referrer, page) rows, as Adobe writes them: `May 20, 2026`, `1,234`, `$`."""
    end = datetime.now(UTC).date() - timedelta(days=1)
    per_day = len(REFERRERS) * PAGES
    with open(path, "w") as out:
        out.write("Day,Referring Domain,Page URL,Page Views,Visits,Orders,Revenue\n")
        for i in range(rows):
            day = end - timedelta(days=i // per_day)
            referrer = REFERRERS[i % len(REFERRERS)]
            page = (i // len(REFERRERS)) % PAGES
            visits = 1 + i % 997
            out.write(
                f'"{day:%B} {day.day}, {day.year}",{referrer},'
                f"https://www.bench.example/p/{page},"
                f'"{visits + 1200:,}",{visits},{i % 3},"${visits * 3:,}.25"\n'
            )


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to an empty PostgreSQL database, or run `make bench-client`.")
    setup_django()
    brand, connection, token = seed_objects("bench.example")
    port = 8767
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "adobe.csv"
        started = time.monotonic()
        write_export(export, ROWS)
        mib = export.stat().st_size / 2**20
        print(f"export: {ROWS:,} rows, {mib:,.0f} MiB in {time.monotonic() - started:.1f} s")
        server = start_gunicorn({"WORKERS": "2"}, port, workers=2)
        try:
            command = [
                str(ROOT / ".venv/bin/referrals-push"),
                "referrals",
                str(export),
                "--preset",
                "adobe",
                "--base-url",
                f"http://127.0.0.1:{port}",
                "--brand",
                str(brand.pk),
                "--connection",
                connection.pk,
                "--quiet",
            ]
            env = {**os.environ, "REFERRALS_API_TOKEN": token}
            started = time.monotonic()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - started
            # Only the client has ended among this process's children: its peak, in KiB.
            peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        finally:
            server.terminate()
            server.wait()
    print(done.stdout.strip())
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        sys.exit(f"referrals-push exited {done.returncode}")
    from referrals.models import ReferralRow

    stored = ReferralRow.objects.filter(connection=connection).count()
    print(f"stored: {stored:,} rows (the rest: google.com, rejected by the allow-list)")
    print(f"end to end: {elapsed:.1f} s, {ROWS / elapsed:,.0f} rows/s")
    print(f"client peak memory (ru_maxrss): {peak_kib / 1024:,.0f} MiB")
    print(calibration_line())


if __name__ == "__main__":
    main()
