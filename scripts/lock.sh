#!/usr/bin/env bash
# `make lock`: pin every dependency of pyproject.toml, with hashes, for every supported Python
# (3.11 up) and platform, in requirements/dev.txt (serving + the dev extra) and
# requirements/serve.txt (serving only, at the same versions). Existing pins are kept unless
# asked: `scripts/lock.sh --upgrade` or `scripts/lock.sh --upgrade-package django`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
compile=(
  .venv/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes
  --quiet --custom-compile-command "make lock"
)
"${compile[@]}" --extra dev "$@" -o requirements/dev.txt
"${compile[@]}" --constraint requirements/dev.txt -o requirements/serve.txt
scripts/bootstrap.sh dev  # .venv follows the new lock at once
