#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing and we can (root + apt-get).
# Playwright cannot download its own browser here; the tests launch /usr/bin/chromium.
# Never fails: without Chromium the browser tests skip with a message saying so.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && \
     apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    exit 0
  fi
fi
echo "Chromium is not installed and cannot be installed here: the browser tests will be skipped."
exit 0
