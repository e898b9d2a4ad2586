#!/usr/bin/env bash
# Create .venv from the lock: `serve` (the default: what `make run` needs) or `dev` (serving
# plus the test, lint and benchmark tools). Usage: scripts/bootstrap.sh [serve|dev]
# .venv is made anew when pyproject.toml, a lock file or the Python changes, so it holds what
# the lock says and nothing else; a serve .venv asked for dev gets the dev tools added.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
profile="${1:-serve}"
case "$profile" in
  serve | dev) ;;
  *) echo "usage: $0 [serve|dev]" >&2; exit 2 ;;
esac
stamp=".venv/.lock.sha256"
want="$({ "$PYTHON" --version; cat pyproject.toml client/pyproject.toml requirements/*.txt; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"  # "<sha256> <profile>"
if [ -x .venv/bin/python ] && { [ "$have" = "$want dev" ] || [ "$have" = "$want $profile" ]; }; then
  exit 0
fi
if [ -x .venv/bin/python ] && [ "${have% *}" = "$want" ]; then
  echo "==> adding the dev tools to .venv (requirements/dev.txt)" >&2
else
  echo "==> setting up .venv from requirements/$profile.txt" >&2
  "$PYTHON" -m venv --clear .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --require-hashes -r "requirements/$profile.txt"
"${pip[@]}" --no-deps -e .
# The push client (client/), editable: the demo seeding and the tests use it; its
# dependencies came with the lock.
"${pip[@]}" --no-deps -e ./client
echo "$want $profile" >"$stamp"
