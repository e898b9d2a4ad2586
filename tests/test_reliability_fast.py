"""The reliability checks at CI sizes, through gunicorn on a PostgreSQL of their own.

`python -m reliability --fast` starts its own throwaway PostgreSQL (scripts/pg.sh), so that
it can kill workers, terminate sessions and stop the server without touching the test
database; it runs only in the PostgreSQL leg of the test command. Full sizes: `make reliability`.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_reliability_checks_at_ci_sizes():
    result = subprocess.run(
        [sys.executable, "-m", "reliability", "--fast"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # ~3 min on a quiet 2-core machine (the rate-limit check waits a window)
        # Its own database: not the test server's DATABASE_URL.
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    )
    print(result.stdout[-20_000:])
    assert result.returncode == 0, result.stdout[-5_000:] + result.stderr[-5_000:]
