#!/usr/bin/env bash
# The browser test drives Debian's Chromium through chromedriver. Install both when missing
# and we are root (apt-get); otherwise say what to install and fail.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  exit 0
fi
echo "error: the browser test needs $CHROMIUM and $CHROMEDRIVER." >&2
echo "       Install them as root: apt-get install chromium chromium-driver" >&2
exit 1
