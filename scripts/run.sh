#!/usr/bin/env bash
# The README's run command: set up, migrate, seed a demo, serve on 127.0.0.1:8000 (SQLite default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh serve
# The demo's own key, made once and kept (var/ is not in git), so sessions survive restarts.
SECRET_KEY="${SECRET_KEY:-$(scripts/secret_key.sh var/secret_key)}"
export SECRET_KEY
.venv/bin/python manage.py migrate --noinput -v0
# Database checks (the daily rollup's triggers) need the migrated schema: after migrate.
.venv/bin/python manage.py check --database default
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py seed_demo --base-url "http://127.0.0.1:${PORT:-8000}"
echo "==> serving on http://127.0.0.1:${PORT:-8000}/  (Ctrl-C stops)"
# Worker class, threads, timeouts and limits come from gunicorn.conf.py (WORKERS: how many).
# One log line per request comes from the application (referrals/ops/logs.py), not gunicorn.
exec .venv/bin/gunicorn project.wsgi --bind "127.0.0.1:${PORT:-8000}"
