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

cargo test --workspace --locked "$@"
