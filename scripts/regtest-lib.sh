# regtest-lib.sh: what regtest-demo.sh and regtest-tx-demo.sh share.
# Sourced, not run. It builds the pinned btcd (v0.26.2, from go.mod), peerd,
# peerctl and peerload into a temporary directory, starts btcd and peerd
# on loopback ports that it finds free (never the networks' default ports,
# which another node may hold), and stops everything and removes the
# directory on exit (DEMO_KEEP=1 keeps it).
#
# Every failure is loud: die prints what failed, the last lines of the
# failing component's log, and exits with status 1.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d -t peerd-demo.XXXXXX)
pids=()
names=()
cleanup() {
	local status=$?
	# peerd first, so its log ends with its own shutdown, then btcd.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -INT "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	if [ -n "${DEMO_KEEP:-}" ]; then
		echo "== kept $work (DEMO_KEEP)"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# die COMPONENT MESSAGE: says what failed, shows the tail of COMPONENT's
# log ($work/COMPONENT.out; "" for none), and exits 1.
die() {
	local component=$1
	shift
	echo >&2
	echo "!! FAILED: $*" >&2
	if [ -n "$component" ] && [ -s "$work/$component.out" ]; then
		echo "!! the last lines of $component's output ($work/$component.out):" >&2
		tail -n 25 "$work/$component.out" | sed 's/^/   | /' >&2
	fi
	exit 1
}

command -v go >/dev/null || die "" "this demo needs Go (go version 1.26 or newer)"
command -v curl >/dev/null || die "" "this demo needs curl to ask btcd over its RPC: apt-get install curl"

# free_port prints a loopback port that nothing listens on and that no
# earlier call printed. It draws below Linux's ephemeral range (32768 and
# up), where the kernel gives out the ports of outgoing connections and of
# listeners on port 0: a port found free there can be taken by anything on
# the machine before btcd or peerd binds it (a test run found it so).
taken_ports=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		case "$taken_ports" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken_ports+="$p "
			echo "$p"
			return
		fi
	done
}

# alive PID: whether the process still runs.
alive() { kill -0 "$1" 2>/dev/null; }

# check_alive: dies if btcd or peerd has exited.
check_alive() {
	local i
	for i in "${!pids[@]}"; do
		if ! alive "${pids[i]}"; then
			local status=0
			wait "${pids[i]}" || status=$?
			die "${names[i]}" "${names[i]} exited (status $status)"
		fi
	done
}

# wait_for SECONDS WHAT COMPONENT COMMAND...: runs COMMAND every 0.1 s
# until it succeeds; dies (blaming COMPONENT) after SECONDS (DEMO_WAIT, if
# set, instead), or as soon as a component exits.
wait_for() {
	local seconds=${DEMO_WAIT:-$1} what=$2 component=$3
	shift 3
	local deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		check_alive
		if ((SECONDS >= deadline)); then
			die "$component" "$what: not within ${seconds}s"
		fi
		sleep 0.1
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

build() {
	echo "== building btcd (pinned in go.mod), peerd, peerctl and peerload into $work/bin"
	go build -o "$work/bin/btcd" github.com/btcsuite/btcd || die "" "building btcd failed"
	local p
	for p in peerd peerctl peerload; do
		go build -o "$work/bin/$p" "./cmd/$p" || die "" "building $p failed"
	done
}

btcd_p2p=$(free_port)
btcd_rpc=$(free_port)
peerd_p2p=$(free_port)
peerd_rpc=$(free_port)

# start_btcd [ARGS...]: btcd in regtest on 127.0.0.1:$btcd_p2p, RPC (no TLS,
# user and password demo) on $btcd_rpc; output in $work/btcd.out.
start_btcd() {
	echo "== starting btcd in regtest: P2P 127.0.0.1:$btcd_p2p, RPC 127.0.0.1:$btcd_rpc"
	HOME="$work/home" "$work/bin/btcd" --regtest --datadir="$work/btcd/data" --logdir="$work/btcd/logs" \
		--configfile=/dev/null --listen="127.0.0.1:$btcd_p2p" --rpclisten="127.0.0.1:$btcd_rpc" \
		--rpcuser=demo --rpcpass=demo --notls --nodnsseed --utxocachemaxsize=16 "$@" >"$work/btcd.out" 2>&1 &
	pids+=($!)
	names+=(btcd)
	wait_for 30 "btcd listening on 127.0.0.1:$btcd_p2p" btcd port_open "$btcd_p2p"
	wait_for 30 "btcd's RPC server answering on 127.0.0.1:$btcd_rpc" btcd btcd_call getblockcount
}

# btcd_call METHOD [PARAMS_JSON]: btcd's JSON-RPC result (or error) as JSON.
btcd_call() {
	local out
	out=$(curl -sS --max-time 10 --user demo:demo -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "http://127.0.0.1:$btcd_rpc/") || return 1
	case "$out" in *'"error":null'*) echo "$out" ;; *) echo "$out" >&2; return 1 ;; esac
}

# start_peerd [ARGS...]: peerd --regtest --connect=btcd, listening on
# 127.0.0.1:$peerd_p2p, RPC on 127.0.0.1:$peerd_rpc (cookie in
# $work/data/regtest); its output is in $work/peerd.out, and also on the
# terminal when PEERD_TO_TERMINAL is set.
start_peerd() {
	: >"$work/peerd.conf" # an empty config file: only these flags count
	local args=(--regtest --datadir="$work/data" --configfile="$work/peerd.conf"
		--listen="127.0.0.1:$peerd_p2p" --rpclisten="127.0.0.1:$peerd_rpc" --connect="127.0.0.1:$btcd_p2p" "$@")
	echo "== starting peerd ${args[*]}"
	if [ -n "${PEERD_TO_TERMINAL:-}" ]; then
		"$work/bin/peerd" "${args[@]}" > >(tee "$work/peerd.out") 2>&1 &
	else
		"$work/bin/peerd" "${args[@]}" >"$work/peerd.out" 2>&1 &
	fi
	pids+=($!)
	names+=(peerd)
	wait_for 30 "peerd's RPC server answering on 127.0.0.1:$peerd_rpc" peerd peerctl uptime
}

# peerctl ARGS...: peerctl against the demo's peerd.
peerctl() {
	"$work/bin/peerctl" --regtest --rpcserver="127.0.0.1:$peerd_rpc" --datadir="$work/data" "$@"
}

# handshaken: whether peerd has a peer in standby (handshake done).
handshaken() { peerctl getpeerinfo | grep -q '"state": "standby'; }
