#!/usr/bin/env bash
# Makes docs/web.png and docs/web-tx.png, the live page's screenshots in
# docs/operations.md: a regtest setup (two btcd v0.26.2 nodes, built by the
# tests, and peerd with --web, a few test peers and a transaction that
# travels) opened in Debian's headless chromium (apt-get install chromium).
# It is a test of internal/e2e, run only when PEERD_SCREENSHOT_DIR is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERD_SCREENSHOT_DIR="$PWD/docs" go test ./internal/e2e -run '^TestLivePageScreenshot$' -count=1 -v
