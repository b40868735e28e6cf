#!/usr/bin/env bash
# Installs Debian's Chromium (for the /docs browser test) when it is missing.
# In CI (CI=true) a failed install fails the run; elsewhere it only warns, and the browser
# test skips itself.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ci: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
if { apt-get update -qq || true; } && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  /usr/bin/chromium --version
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "ci: could not install chromium" >&2
  exit 1
fi
echo "ci: chromium is not installed; the browser test will be skipped" >&2
exit 0
