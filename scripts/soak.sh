#!/usr/bin/env bash
# soak.sh [DURATION [go test flags...]]: runs the soak, internal/e2e TestSoak,
# for DURATION (default 10m; `go test ./...` runs it for 30 s): the real peerd
# binary under 200 good peers joining and leaving (pings, every transaction
# announced), 1,000 transactions over JSON-RPC, and bad peers (4 MB junk,
# wrong magic, oversized headers, slowloris) mixed in. It prints a timeline
# (peers, goroutines, RSS, heap) every tenth of the run and, at the end,
# peerd's goroutines, heap and RSS against the baseline taken after a
# warm-up; it fails on any error seen by a good peer, an unexpected reaction
# to a bad one, or goroutines or heap not back to the baseline.
#
#   ./scripts/soak.sh            # 10 minutes
#   ./scripts/soak.sh 1h         # an hour
#   ./scripts/soak.sh 2m -soak.peers=400 -soak.txs=5000
#
# The first run builds btcd for the e2e package's other tests (about a
# minute); later runs reuse Go's build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10m}
shift || true
# No go test timeout: the soak's own waits are bounded, and a fixed timeout
# would have to know DURATION.
go test ./internal/e2e -run '^TestSoak$' -count=1 -v -timeout=0 -soak.duration="$dur" "$@" 2>&1 | sed '/^=== /d'
