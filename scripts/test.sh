#!/usr/bin/env bash
# Runs Rapport's whole test suite: unit, store conformance, HTTP integration
# and browser journeys. On a fresh Debian machine it first installs what the
# tests need (Chromium and ChromeDriver from Debian, axe-core from npm).
# Set RAPPORT_TEST_POSTGRES_URL to also run everything against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "Installing test prerequisites: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# Run everything, then close with one summary line over all test binaries.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\nrapport: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
