#!/usr/bin/env bash
# regtest-demo.sh: see peerd's main job on this machine, with no internet.
#
# Builds the btcd pinned in go.mod (v0.26.2) and peerd, starts btcd in
# regtest on loopback, starts peerd connected to it, and shows peerd's log:
# the handshake's transitions, then pings and pongs every few seconds.
# Runs for DEMO_SECONDS (default 20; 0 = until Ctrl-C), then stops both and
# removes everything it created. Every port is a free one, never a
# network's default, so another node on this machine is no obstacle.
#
# It exits 0 only when everything worked: a failure (a build, btcd or
# peerd not starting or exiting, no handshake) stops it with status 1, the
# failing part named and the end of its log shown.
#
# scripts/regtest-tx-demo.sh goes on from here: a real transaction, signed,
# injected with peerctl, and seen in btcd's mempool.

source "$(dirname "$0")/regtest-lib.sh"

seconds=${DEMO_SECONDS:-20}
build
start_btcd
echo "== peerd: pings every 5s; PEER logs every message (log also in $work/data/regtest/peerd.log while it runs)"
PEERD_TO_TERMINAL=1 start_peerd --pinginterval=5s --debuglevel=PEER=trace,NODE=debug,PRDD=info
wait_for 30 "peerd's handshake with btcd" peerd handshaken

if [ "$seconds" = 0 ]; then
	echo "== running until Ctrl-C"
	while :; do
		check_alive
		sleep 1
	done
fi
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
	check_alive
	sleep 1
done
echo "== asking btcd to ping its peers (its own pings come every 2 min)"
btcd_call ping >/dev/null || die btcd "btcd's RPC ping failed"
sleep 1
check_alive
echo "== $seconds seconds are up; btcd's getpeerinfo about peerd (pingtime in µs):"
info=$(btcd_call getpeerinfo) || die btcd "btcd's getpeerinfo failed"
line=$(grep -o '"subver":"[^"]*"\|"version":[0-9]*\|"pingtime":[0-9]*\|"inbound":[a-z]*' <<<"$info" | paste -sd' ')
[ -n "$line" ] || die btcd "btcd has no peer: peerd's connection is gone"
echo "    $line"
echo "== done; next: scripts/regtest-tx-demo.sh sends a real transaction through peerd to btcd"
