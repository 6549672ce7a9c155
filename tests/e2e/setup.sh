#!/usr/bin/env bash
# Installs what the dashboard's browser test (tests/dashboard_e2e_test.cc)
# needs: Debian's chromium (never a browser download), a CJK font for the
# Chinese labels of the screenshot, and playwright-core from
# tests/e2e/package-lock.json. Quick when all is there. Run as root.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
for p in chromium fonts-noto-cjk nodejs npm; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
# The machine's own node/npm (not Debian's) count as present.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# playwright-core drives the system chromium; it never downloads a browser.
if [[ ! -d node_modules/playwright-core ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
