#!/usr/bin/env bash
# Print a random secret key (64 URL-safe characters). With FILE: the key kept in FILE, made
# first (mode 600) when FILE is missing or empty. Usage: scripts/secret_key.sh [FILE]
set -euo pipefail
new_key() {
  head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n'
  echo
}
file="${1:-}"
if [ -z "$file" ]; then
  new_key
  exit 0
fi
if [ ! -s "$file" ]; then
  mkdir -p "$(dirname "$file")"
  (umask 077 && new_key >"$file.$$")
  mv "$file.$$" "$file"
fi
cat "$file"
