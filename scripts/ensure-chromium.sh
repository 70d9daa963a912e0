#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it when missing and we can (root with apt).
# Never download a browser build of Playwright's own.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "Could not install chromium; browser tests will be skipped (and fail under CI=true)."
else
  echo "chromium is missing and cannot be installed here; browser tests will be skipped (and fail under CI=true)."
fi
exit 0
