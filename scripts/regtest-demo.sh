#!/usr/bin/env bash
# regtest-demo.sh: see peerd's main job on this machine, with no internet.
#
# Builds the btcd pinned in go.mod (v0.26.2) and peerd, starts btcd in
# regtest on loopback, starts peerd connected to it, and shows peerd's log:
# the handshake's transitions, then pings and pongs every few seconds.
# Runs for DEMO_SECONDS (default 20; 0 = until Ctrl-C), then stops both and
# removes everything it created.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${DEMO_SECONDS:-20}
work=$(mktemp -d -t peerd-demo.XXXXXX)
pids=()
cleanup() {
	# peerd first, so its log ends with its own shutdown, then btcd.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -INT "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	[ -n "${DEMO_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback port that nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

echo "== building btcd (pinned in go.mod) and peerd into $work"
go build -o "$work/bin/btcd" github.com/btcsuite/btcd
go build -o "$work/bin/peerd" ./cmd/peerd

p2p=$(free_port)
rpc=$(free_port)
echo "== starting btcd in regtest on 127.0.0.1:$p2p"
HOME="$work/home" "$work/bin/btcd" --regtest --datadir="$work/btcd/data" --logdir="$work/btcd/logs" \
	--listen="127.0.0.1:$p2p" --rpclisten="127.0.0.1:$rpc" --rpcuser=demo --rpcpass=demo --notls \
	--nodnsseed --utxocachemaxsize=16 >"$work/btcd.out" 2>&1 &
pids+=($!)

# Wait until btcd accepts connections.
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p2p") 2>/dev/null; then break; fi
	sleep 0.1
done

: >"$work/peerd.conf" # an empty config file: only the flags below count
echo "== starting peerd --regtest --connect=127.0.0.1:$p2p (pings every 5s; PEER logs every message)"
echo "   (Ctrl-C to stop; log also in $work/data/regtest/peerd.log while it runs)"
"$work/bin/peerd" --regtest --datadir="$work/data" --configfile="$work/peerd.conf" --nolisten \
	--connect="127.0.0.1:$p2p" --pinginterval=5s --debuglevel=PEER=trace,NODE=debug,PRDD=info &
pids+=($!)

if [ "$seconds" = 0 ]; then
	wait "${pids[1]}"
else
	sleep "$seconds"
	rpc_call() {
		curl -s --user demo:demo -H 'Content-Type: application/json' \
			-d "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"$1\",\"params\":[]}" "http://127.0.0.1:$rpc/"
	}
	echo "== asking btcd to ping its peers (its own pings come every 2 min)"
	rpc_call ping >/dev/null || true
	sleep 1
	echo "== $seconds seconds are up; btcd's getpeerinfo about peerd (pingtime in µs):"
	rpc_call getpeerinfo |
		grep -o '"subver":"[^"]*"\|"version":[0-9]*\|"pingtime":[0-9]*\|"inbound":[a-z]*' | paste -sd' ' |
		sed 's/^/    /' || echo "    (could not query btcd)"
fi
