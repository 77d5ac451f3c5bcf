#!/usr/bin/env bash
# bench-compare.sh measures what a handshake and a held idle peer cost
# peerd, btcd v0.26.2 (pinned by go.mod, regtest) and the floor
# (cmd/peerfloor: a server that answers the handshake with pre-encoded bytes
# and nothing else), and how fast peerd and btcd relay a transaction to
# their peers, over v1 and over BIP 324 (v2), and writes the results into
# docs/benchmarks.md.
#
# It builds the four programs, then runs BENCH_RUNS rounds. A round
# measures, for each mode and each target, one run of peerload against a
# fresh target (temporary data directory, free loopback ports, started for
# that run alone and stopped after it):
#
#   handshake  peerload handshake: BENCH_HS_WORKERS workers connect,
#              handshake, reset and start again, BENCH_HS_COUNT times;
#              handshakes per second, latency, and the target's CPU time per
#              handshake (/proc/PID/stat, read by peerload --pid).
#   hold       peerload hold: BENCH_HOLD_PEERS connections opened and kept
#              for BENCH_HOLD (pings answered); the target's resident memory
#              (/proc/PID/status VmRSS) before the first connection and
#              BENCH_SETTLE after the last: the growth per held peer.
#   relay      peerload relay: BENCH_RELAY_PEERS connections opened and
#              handshaken; once the target reports them all ready,
#              BENCH_RELAY_TXS transactions injected one at a time with
#              sendrawtransaction (over the target's RPC server); the time
#              from each call to each connection's inv, and whether every
#              connection got every transaction. The floor relays too
#              (peerfloor --rpclisten: one pre-encoded inv written to every
#              connection, from a goroutine per CPU), the reference for
#              what the machine allows. btcd checks inputs, so each btcd run
#              first mines a regtest chain to a well-known key (btcd
#              --miningaddr, peerload fund: BENCH_RELAY_TXS + 100 blocks)
#              and injects signed spends of its coinbases; peerd (which
#              checks no inputs) and the floor get the spends of one such
#              chain, mined once at the start. peerd relays with its trickle off
#              (--trickleinterval=0s); btcd's cannot be off (0 means its
#              default, 10 s): it runs with BENCH_BTCD_TRICKLE. btcd v0.26
#              does not implement wtxidrelay, so its listeners connect with
#              --wtxid=false (invs by txid); peerd's negotiate wtxidrelay.
#
# Within a round the targets take turns (and the order rotates from round
# to round), so that whatever else the machine is doing hits all of them
# alike; the page compares them as ratios within a round, and gives the
# median, minimum and maximum over the rounds. Before each run the script
# waits (a bounded time) for the machine to be quiet, and it records how
# much CPU other processes used during the run; a run during which they
# used more than BENCH_MAX_OTHER% of the CPUs is set aside and repeated.
#
# The v2 targets are the same programs with every peerload connection
# speaking BIP 324 as the initiator (peerload --v2):
#
#   peerd-v2   peerd as above (it tells v1 from v2 by a connection's first
#              bytes, as it always does).
#   btcd-v2    btcd started with --v2transport. btcd v0.26.2 admits
#              inbound v2 handshakes at 20 a second (bursts of 40), 4 at a
#              time, and 2 a second (bursts of 4) per source /24, whatever
#              its options, and resets the connections beyond that. So
#              peerload starts connections to it at BENCH_BTCD_V2_RATE a
#              second (peerload --rate), and its hold runs open at most
#              BENCH_BTCD_V2_HOLD_PEERS; its handshake runs then end at
#              BENCH_HS_MAXTIME. Its CPU per handshake includes what it
#              uses idle over that longer run.
#
# The generated part of docs/benchmarks.md lies between two pairs of
# markers (BEGIN and END below); the rest of the file is kept. The first
# holds the v1 targets (peerd, btcd, floor); the second, BIP 324, holds
# the v2 targets with peerd (over v1) beside them, and the ratios the
# issue sets for v2 (CPU per handshake, peerd-v2 / btcd-v2; memory per
# held v2 peer; relay fan-out to v2 listeners). A section is written only
# when its targets were measured, and the v1 section is left as it is when
# peerd is the only v1 target beside v2 ones: BENCH_TARGETS="peerd
# peerd-v2 btcd-v2" rewrites the v2 section alone. (scripts/bench-relay.sh
# measures peerd's relay alone, at 100 and 1,000 peers, under its own
# markers.)
#
# Needs go, jq, awk and Linux's /proc; the functions it shares with
# bench-relay.sh are in scripts/bench-lib.sh. A quick try:
#   BENCH_RUNS=1 BENCH_HS_COUNT=2000 BENCH_HOLD_PEERS=1000 BENCH_HOLD=4s BENCH_SETTLE=2s \
#     BENCH_RELAY_PEERS=200 BENCH_OUT=/tmp/bench.md scripts/bench-compare.sh
#
# Settings (environment):
#   BENCH_TARGETS     targets, in the first round's order: peerd, btcd,
#                     floor, peerd-v2, btcd-v2
#                     (default "peerd btcd floor peerd-v2 btcd-v2")
#   BENCH_MODES       modes                               (default "handshake hold relay")
#   BENCH_RUNS        rounds                              (default 3)
#   BENCH_HS_COUNT    handshakes per handshake run        (default 20000)
#   BENCH_HS_WORKERS  handshakes in progress at once      (default 32)
#   BENCH_HS_MAXTIME  stop a handshake run after this     (default 60s)
#   BENCH_HOLD_PEERS  connections per hold run            (default 10000)
#   BENCH_HOLD        how long a hold run keeps them      (default 12s)
#   BENCH_SETTLE      when, after the last one opened, the memory
#                     figure is read                      (default 5s)
#   BENCH_MAXPEERS    the targets' --maxpeers  (default BENCH_HOLD_PEERS + 200)
#   BENCH_RELAY_PEERS connections per relay run           (default 1000)
#   BENCH_RELAY_TXS   transactions per relay run          (default 20)
#   BENCH_RELAY_MAXPEERS  the targets' --maxpeers in relay runs
#                     (default BENCH_RELAY_PEERS + 100)
#   BENCH_BTCD_V2_RATE  connections started a second against btcd-v2
#                     (default 15; btcd admits 20)
#   BENCH_BTCD_V2_HOLD_PEERS  connections per hold run against btcd-v2
#                     (default 1000, or BENCH_HOLD_PEERS if fewer)
#   BENCH_BTCD_TRICKLE  btcd's --trickleinterval in relay runs (default 10ms;
#                     see docs/benchmarks.md for why)
#   BENCH_WARMUP      seconds between a target's start and the run (default 2)
#   BENCH_OUT         the page to write                   (default docs/benchmarks.md)
#   BENCH_KEEP        a directory to copy each run's JSON and target log into
#   BENCH_PEERD_ARGS  more flags for every peerd run, e.g. --nov2transport
#   BENCH_QUIET_PCT   other processes may use at most this % of all CPUs
#                     before a run starts                 (default 10)
#   BENCH_QUIET_WAIT  seconds to wait for that, per run   (default 120)
#   BENCH_MAX_OTHER   a run during which other processes used more than
#                     this % of all CPUs is set aside and repeated (default 10)
#   BENCH_RETRIES     at most this many times per run     (default 2)
#   BENCH_REV         build everything from this commit (e.g. HEAD) instead
#                     of the working tree
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
DEFAULT_TARGETS="peerd btcd floor peerd-v2 btcd-v2"
TARGETS=${BENCH_TARGETS:-$DEFAULT_TARGETS}
MODES=${BENCH_MODES:-"handshake hold relay"}
RUNS=${BENCH_RUNS:-3}
HS_COUNT=${BENCH_HS_COUNT:-20000}
HS_WORKERS=${BENCH_HS_WORKERS:-32}
HS_MAXTIME=${BENCH_HS_MAXTIME:-60s}
HOLD_PEERS=${BENCH_HOLD_PEERS:-10000}
HOLD=${BENCH_HOLD:-12s}
SETTLE=${BENCH_SETTLE:-5s}
MAXPEERS=${BENCH_MAXPEERS:-$((HOLD_PEERS + 200))}
RELAY_PEERS=${BENCH_RELAY_PEERS:-1000}
RELAY_TXS=${BENCH_RELAY_TXS:-20}
RELAY_MAXPEERS=${BENCH_RELAY_MAXPEERS:-$((RELAY_PEERS + 100))}
BTCD_TRICKLE=${BENCH_BTCD_TRICKLE:-10ms}
BTCD_V2_RATE=${BENCH_BTCD_V2_RATE:-15}
BTCD_V2_HOLD_PEERS=${BENCH_BTCD_V2_HOLD_PEERS:-1000}
((BTCD_V2_HOLD_PEERS <= HOLD_PEERS)) || BTCD_V2_HOLD_PEERS=$HOLD_PEERS
WARMUP=${BENCH_WARMUP:-2}
OUT=${BENCH_OUT:-docs/benchmarks.md}
KEEP=${BENCH_KEEP:-}
QUIET_PCT=${BENCH_QUIET_PCT:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
MAX_OTHER=${BENCH_MAX_OTHER:-10}
PEERD_ARGS=${BENCH_PEERD_ARGS:-}
RETRIES=${BENCH_RETRIES:-2}
REV=${BENCH_REV:-}
BEGIN='<!-- BEGIN scripts/bench-compare.sh: generated, do not edit -->'
END='<!-- END scripts/bench-compare.sh -->'
BEGIN_V2='<!-- BEGIN scripts/bench-compare.sh v2: generated, do not edit -->'
END_V2='<!-- END scripts/bench-compare.sh v2 -->'

V1_TARGETS= V2_TARGETS=
for t in $TARGETS; do
	case $t in
	peerd | btcd | floor) V1_TARGETS+="${V1_TARGETS:+ }$t" ;;
	peerd-v2 | btcd-v2) V2_TARGETS+="${V2_TARGETS:+ }$t" ;;
	*)
		echo "bench-compare: unknown target $t (want peerd, btcd, floor, peerd-v2, btcd-v2)" >&2
		exit 2
		;;
	esac
done
# The columns of the v2 section: the v2 targets, and peerd over v1 beside
# them.
V2_COLS=$V2_TARGETS
[[ " $V1_TARGETS " != *" peerd "* || -z $V2_TARGETS ]] || V2_COLS+=" peerd"
for m in $MODES; do
	case $m in handshake | hold | relay) ;; *)
		echo "bench-compare: unknown mode $m (want handshake, hold, relay)" >&2
		exit 2
		;;
	esac
done

bench_init peerd-compare-XXXXXX 150

has() { [[ " $TARGETS " == *" $1 "* ]]; }
has_mode() { [[ " $MODES " == *" $1 "* ]]; }

# A target holds one descriptor per peer (Go raises its soft limit to the
# hard one; btcd keeps a limit above 2,048); peerload raises its own.
fds=$((RELAY_PEERS + 100))
if has_mode hold && ((HOLD_PEERS > RELAY_PEERS)); then fds=$((HOLD_PEERS + 100)); fi
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $fds ]]; then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $fds ]]; then
		log "warning: the open file limit is $(ulimit -n), below the $fds a run needs"
	fi
fi

# With BENCH_REV, build from that commit (git archive into a temporary
# directory), not from the working tree with whatever is being edited in it.
src=.
if [[ -n $REV ]]; then
	REV_ID=$(git rev-parse --short "$REV^{commit}")
	src=$tmp/src
	mkdir -p "$src"
	git archive "$REV_ID" | tar -x -C "$src"
	PEERD_AT="commit $REV_ID"
else
	PEERD_AT="the working tree at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	if ! git diff --quiet HEAD -- . ':!docs' ':!scripts' 2>/dev/null; then
		PEERD_AT+=" with uncommitted changes"
	fi
fi
log "building peerd, peerload, peerfloor and the pinned btcd from $PEERD_AT"
(
	cd "$src"
	go build -o "$tmp/peerd" ./cmd/peerd
	go build -o "$tmp/peerload" ./cmd/peerload
	go build -o "$tmp/peerfloor" ./cmd/peerfloor
	# go.mod's "tool github.com/btcsuite/btcd" pins the version (as in
	# internal/btcdtest).
	go build -o "$tmp/btcd" github.com/btcsuite/btcd
)
BTCD_VERSION=$("$tmp/btcd" --version | awk '{print $NF}')
: >"$tmp/none.conf"
# btcd's RPC password in relay runs, and the address it mines to.
RPCPASS=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
MINING_ADDR=$("$tmp/peerload" --regtest fund --address)

# The commands, as the page shows them.
PEERD_CMD='peerd --regtest --datadir=$TMP/data --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --norpc --maxpeers='$MAXPEERS' --nodnsseed --nologfile --debuglevel=warn'${PEERD_ARGS:+ $PEERD_ARGS}
BTCD_V2_CMD='btcd --regtest --v2transport --datadir=$TMP/data --logdir=$TMP/logs --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --norpc --maxpeers='$MAXPEERS' --nodnsseed --debuglevel=warn'
BTCD_CMD='btcd --regtest --datadir=$TMP/data --logdir=$TMP/logs --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --norpc --maxpeers='$MAXPEERS' --nodnsseed --debuglevel=warn'
FLOOR_CMD='peerfloor --regtest --listen=127.0.0.1:$P2P'
HS_CMD='peerload --regtest --target=127.0.0.1:$P2P --json -q handshake --workers='$HS_WORKERS' --count='$HS_COUNT' --duration='$HS_MAXTIME' --settle=1s --pid=$PID'
HOLD_CMD='peerload --regtest --target=127.0.0.1:$P2P --peers='$HOLD_PEERS' --json -q hold --hold='$HOLD' --settle='$SETTLE' --pid=$PID'
PEERD_RELAY_CMD='peerd --regtest --datadir=$TMP/data --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --rpclisten=127.0.0.1:$RPC --trickleinterval=0s --maxpeers='$RELAY_MAXPEERS' --nodnsseed --nologfile --debuglevel=warn'${PEERD_ARGS:+ $PEERD_ARGS}
BTCD_RELAY_CMD='btcd --regtest --datadir=$TMP/data --logdir=$TMP/logs --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --rpclisten=127.0.0.1:$RPC --rpcuser=peerload --rpcpass=$PASS --notls --miningaddr=$ADDR --trickleinterval='$BTCD_TRICKLE' --maxpeers='$RELAY_MAXPEERS' --nodnsseed --debuglevel=warn'
FUND_CMD='peerload --regtest --rpcserver=127.0.0.1:$RPC --rpcuser=peerload --rpcpass=$PASS -q fund --txs='$RELAY_TXS' --out=$TMP/txs.hex'
PEERD_RELAY_RUN='peerload --regtest --target=127.0.0.1:$P2P --rpcserver=127.0.0.1:$RPC --datadir=$TMP/data --peers='$RELAY_PEERS' --json -q relay --txs='$RELAY_TXS' --txfile=$TXS'
BTCD_RELAY_RUN='peerload --regtest --target=127.0.0.1:$P2P --rpcserver=127.0.0.1:$RPC --rpcuser=peerload --rpcpass=$PASS --wtxid=false --peers='$RELAY_PEERS' --json -q relay --txs='$RELAY_TXS' --txfile=$TMP/txs.hex --propagation=false'

# start_target TARGET MODE NAME: a fresh target on free ports, in its own
# directory $tmp/NAME; sets target_pid, port and (for relay and fund)
# rpc_port, and returns once it accepts connections (and BENCH_WARMUP
# seconds later). Mode relay starts the target with its RPC server, and a
# btcd for relay then mines and writes its transactions (see fund); mode
# fund starts a btcd that only mines. A v2 target is its program's (btcd
# with --v2transport).
start_target() {
	local t=${1%-v2} mode=$2 name=$3 dir=$tmp/$3 cookie= v2=()
	[[ $1 != btcd-v2 ]] || v2=(--v2transport)
	mkdir -p "$dir"
	port=$(free_port)
	rpc_port=
	local ports=("$port")
	if [[ $mode == relay || $mode == fund ]]; then
		rpc_port=$(free_port)
		while [[ $rpc_port == "$port" ]]; do rpc_port=$(free_port); done
		ports+=("$rpc_port")
	fi
	case $t.$mode in
	peerd.relay)
		"$tmp/peerd" --regtest --datadir="$dir/data" --configfile="$tmp/none.conf" --listen="127.0.0.1:$port" \
			--rpclisten="127.0.0.1:$rpc_port" --trickleinterval=0s --maxpeers="$RELAY_MAXPEERS" --nodnsseed --nologfile \
			--debuglevel=warn $PEERD_ARGS >"$dir/target.log" 2>&1 &
		cookie=$dir/data/regtest/.cookie
		;;
	peerd.*)
		"$tmp/peerd" --regtest --datadir="$dir/data" --configfile="$tmp/none.conf" --listen="127.0.0.1:$port" \
			--norpc --maxpeers="$MAXPEERS" --nodnsseed --nologfile --debuglevel=warn $PEERD_ARGS >"$dir/target.log" 2>&1 &
		;;
	btcd.relay | btcd.fund)
		"$tmp/btcd" --regtest "${v2[@]}" --datadir="$dir/data" --logdir="$dir/logs" --configfile="$tmp/none.conf" \
			--listen="127.0.0.1:$port" --rpclisten="127.0.0.1:$rpc_port" --rpcuser=peerload --rpcpass="$RPCPASS" --notls \
			--miningaddr="$MINING_ADDR" --trickleinterval="$BTCD_TRICKLE" --maxpeers="$RELAY_MAXPEERS" --nodnsseed \
			--debuglevel=warn >"$dir/target.log" 2>&1 &
		;;
	btcd.*)
		"$tmp/btcd" --regtest "${v2[@]}" --datadir="$dir/data" --logdir="$dir/logs" --configfile="$tmp/none.conf" \
			--listen="127.0.0.1:$port" --norpc --maxpeers="$MAXPEERS" --nodnsseed --debuglevel=warn >"$dir/target.log" 2>&1 &
		;;
	floor.relay)
		"$tmp/peerfloor" --regtest --listen="127.0.0.1:$port" --rpclisten="127.0.0.1:$rpc_port" >"$dir/target.log" 2>&1 &
		;;
	floor.*)
		"$tmp/peerfloor" --regtest --listen="127.0.0.1:$port" >"$dir/target.log" 2>&1 &
		;;
	esac
	target_pid=$!
	await_target "$1" "$dir/target.log" "$cookie" "${ports[@]}" || return 1
	if [[ $t == btcd && ($mode == relay || $mode == fund) ]]; then
		# btcd wipes a regtest chain when it starts (removeRegressionDB), so
		# every btcd mines its own: --txs + 100 blocks, about 0.2 s.
		if ! "$tmp/peerload" --regtest --rpcserver="127.0.0.1:$rpc_port" --rpcuser=peerload --rpcpass="$RPCPASS" \
			-q fund --txs="$RELAY_TXS" --out="$dir/txs.hex" 2>"$dir/fund.err"; then
			log "peerload fund against btcd failed:"
			cat "$dir/fund.err" "$dir/target.log" >&2
			return 1
		fi
	fi
	[[ $mode == fund ]] || sleep "$WARMUP"
}

# relay_txs: the transactions of peerd's relay runs, $tmp/txs.hex: the
# spends of a chain that a btcd started for the purpose mines, so that
# both targets relay transactions of the same kind.
relay_txs() {
	start_target btcd fund fund
	cp "$tmp/fund/txs.hex" "$tmp/txs.hex"
	stop_target
}

# measure MODE RUN TARGET ATTEMPT: one peerload run against a fresh target;
# writes its figures as one TSV line to $tmp/line.tsv (columns: see the jq
# programs; the first four are mode, run, target, other processes' CPU %).
# Against a v2 target, peerload runs as against its program, with --v2.
# Not run in a subshell: the EXIT trap must see target_pid.
measure() {
	local mode=$1 run=$2 t=$3 name=$1.$3.$2.$4
	local json=$tmp/$name/run.json
	start_target "$t" "$mode" "$name"
	cpu_start "$target_pid"
	local args=(--regtest --target="127.0.0.1:$port" --json -q)
	[[ $t != *-v2 ]] || args+=(--v2)
	[[ $t != btcd-v2 ]] || args+=(--rate="$BTCD_V2_RATE")
	case $mode.${t%-v2} in
	handshake.*)
		args+=(handshake --workers="$HS_WORKERS" --count="$HS_COUNT" --duration="$HS_MAXTIME" --settle=1s --pid="$target_pid")
		;;
	hold.*)
		local peers=$HOLD_PEERS
		[[ $t != btcd-v2 ]] || peers=$BTCD_V2_HOLD_PEERS
		args+=(--peers="$peers" hold --hold="$HOLD" --settle="$SETTLE" --pid="$target_pid")
		;;
	relay.peerd)
		args+=(--rpcserver="127.0.0.1:$rpc_port" --datadir="$tmp/$name/data" --peers="$RELAY_PEERS"
			relay --txs="$RELAY_TXS" --txfile="$tmp/txs.hex")
		;;
	relay.btcd)
		args+=(--rpcserver="127.0.0.1:$rpc_port" --rpcuser=peerload --rpcpass="$RPCPASS" --wtxid=false --peers="$RELAY_PEERS"
			relay --txs="$RELAY_TXS" --txfile="$tmp/$name/txs.hex" --propagation=false)
		;;
	relay.floor)
		# The floor takes any credentials and keeps no records.
		args+=(--rpcserver="127.0.0.1:$rpc_port" --rpcuser=peerload --rpcpass="$RPCPASS" --peers="$RELAY_PEERS"
			relay --txs="$RELAY_TXS" --txfile="$tmp/txs.hex" --propagation=false)
		;;
	esac
	if ! "$tmp/peerload" "${args[@]}" >"$json" 2>"$tmp/$name/run.err"; then
		log "peerload $mode against $t failed:"
		cat "$tmp/$name/run.err" "$json" >&2
		tail -20 "$tmp/$name/target.log" >&2
		return 1
	fi
	cpu_end "$target_pid"
	stop_target
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP"
		cp "$json" "$KEEP/$name.json"
		cp "$tmp/$name/target.log" "$KEEP/$name.log"
		[[ ! -f $tmp/$name/logs/regtest/btcd.log ]] || cp "$tmp/$name/logs/regtest/btcd.log" "$KEEP/$name.btcd.log"
	fi
	# CPU, as a % of all CPUs over the run's wall time: the target's,
	# peerload's, and what the rest of the machine used.
	local common='[$mode, $run, $t, $other_pct, $target_pct, $peerload_pct]'
	local fields
	case $mode in
	handshake)
		# 7 rate, 8 target µs/handshake, 9 p50, 10 p99, 11 max, 12 peerload
		# µs/handshake, 13 completed, 14 failed
		fields='[.handshakes_per_s, (.target_cpu_us_per_handshake // "n/a"), .latency.p50_ms, .latency.p99_ms,
			.latency.max_ms, .peerload_cpu_us_per_handshake, .handshakes, .failed]'
		;;
	hold)
		# 7 kB per peer, 8 held (settled), 9 held at the end, 10 failed,
		# 11 RSS before (kB), 12 RSS settled, 13 open time (ms), 14 target
		# µs per connection opened, 15 peers asked for
		fields='[(.target_kb_per_peer // "n/a"), .held, .held_end, .failed,
			(.target_rss_before_kb // "n/a"), (.target_rss_settled_kb // "n/a"), .open_ms,
			(.target_cpu_us_per_open // "n/a"), .peers]'
		;;
	relay)
		# 7 p50, 8 p99, 9 max (RPC issued → inv read), 10 listeners that
		# got every tx, 11 listeners, 12 txs that reached every listener,
		# 13 txs, 14 pairs delivered, 15 pairs, 16 duplicate invs, 17 invs
		# of the wrong type, 18 dropped connections, 19 sendrawtransaction
		# p50, 20 per tx: issued → first inv p50, 21 per tx: first → last
		# inv p50
		fields='[.issue_to_inv.p50_ms, .issue_to_inv.p99_ms, .issue_to_inv.max_ms, .listeners_got_all, .peers,
			.txs_reached_all, .txs, .delivered_pairs, .pairs, .duplicate_invs, .wrong_type_invs,
			.dropped_connections, .rpc.p50_ms, .first_inv.p50_ms, .spread.p50_ms]'
		;;
	esac
	jq_cpu "$common + $fields | @tsv" "$json" --arg mode "$mode" --arg run "$run" --arg t "$t" >"$tmp/line.tsv"
}

# What the log says of a run (awk programs over its TSV line).
HS_SUMMARY='{printf "%s handshakes/s, %s µs of target CPU each, p99 %s ms, %s failed; CPU: target %s%%, peerload %s%%, other processes %s%%", $7, $8, $10, $14, $5, $6, $4}'
HOLD_SUMMARY='{printf "%s of %s held, %s kB per peer, opened in %.1f s; other processes %s%%", $8, $15, $7, $13/1000, $4}'
RELAY_SUMMARY='{printf "p50 %s ms, p99 %s ms, max %s ms; %s of %s listeners got every tx; other processes %s%%", $7, $8, $9, $10, $11, $4}'

results=$tmp/results.tsv
discarded=$tmp/discarded.tsv
failed_runs=()
: >"$results"
: >"$discarded"
read -r -a order <<<"$TARGETS"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
if has_mode relay && { has peerd || has peerd-v2 || has floor; }; then
	log "mining the transactions of peerd's relay runs"
	relay_txs
fi
for run in $(seq "$RUNS"); do
	# Rotate the order, so that no target always runs first or last.
	k=$(((run - 1) % ${#order[@]}))
	round=("${order[@]:k}" "${order[@]:0:k}")
	for mode in $MODES; do
		case $mode in
		handshake) summary=$HS_SUMMARY ;;
		hold) summary=$HOLD_SUMMARY ;;
		relay) summary=$RELAY_SUMMARY ;;
		esac
		for t in "${round[@]}"; do
			measure_quietly "round $run of $RUNS: $mode against $t" 4 "$summary" measure "$mode" "$run" "$t"
		done
	done
done

# cell MODE TARGET COLUMN FORMAT prints "median (min–max)" of COLUMN over
# the rounds, or "n/a".
cell() {
	awk -F'\t' -v m="$1" -v t="$2" -v c="$3" '$1==m && $3==t && $c != "n/a" {print $c}' "$results" | sort -g |
		awk -v f="$4" '{a[NR]=$1} END {
			if (NR == 0) {print "n/a"; exit}
			m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
			if (NR == 1) printf f "\n", m; else printf f " (" f "–" f ")\n", m, a[1], a[NR]}'
}

# ratio MODE A B COLUMN prints "median (min–max)" over the rounds of
# A's COLUMN / B's COLUMN in the same round, or "n/a".
ratio() {
	awk -F'\t' -v m="$1" -v a="$2" -v b="$3" -v c="$4" '
		$1==m && $3==a && $c != "n/a" {x[$2]=$c}
		$1==m && $3==b && $c != "n/a" {y[$2]=$c}
		END {for (r in x) if ((r in y) && y[r] > 0) print x[r]/y[r]}' "$results" | sort -g |
		awk '{a[NR]=$1} END {
			if (NR == 0) {print "n/a"; exit}
			m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
			if (NR == 1) printf "%.2f\n", m; else printf "%.2f (%.2f–%.2f)\n", m, a[1], a[NR]}'
}

# fewest MODE TARGET COLUMN prints the smallest value of COLUMN over the
# rounds, or nothing.
fewest() {
	awk -F'\t' -v m="$1" -v t="$2" -v c="$3" '$1==m && $3==t {print $c}' "$results" | sort -g | head -1
}

# median_ratio MODE A B COLUMN prints the median ratio alone (for the
# verdicts), or nothing; median_cell MODE TARGET COLUMN, likewise, the
# median of a cell.
median_ratio() { ratio "$@" | awk '$1 != "n/a" {print $1}'; }
median_cell() { cell "$@" '%s' | awk '$1 != "n/a" {print $1}'; }

# verdict VALUE OP LIMIT prints "met" or "missed" (OP: <=, < or >=).
verdict() {
	[[ -n $1 ]] || {
		echo "n/a"
		return
	}
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {ok = op == "<=" ? v <= l : op == "<" ? v < l : v >= l; print ok ? "**met**" : "**missed**"}'
}

# The section being written sets cols, the targets of its tables'
# columns, and section (v1 or v2).

# row LABEL MODE COLUMN FORMAT ISSUE: one line of a mode's table.
row() {
	local label=$1 mode=$2 col=$3 fmt=$4 issue=$5 t
	printf '| %s |' "$label"
	for t in $cols; do
		printf ' %s |' "$(cell "$mode" "$t" "$col" "$fmt")"
	done
	printf ' %s |\n' "$issue"
}

# col_label TARGET: a column's heading.
col_label() {
	case $section.$1 in
	v2.peerd) echo 'peerd v1' ;;
	v2.peerd-v2) echo 'peerd v2' ;;
	v2.btcd-v2) echo 'btcd v2' ;;
	*) echo "$1" ;;
	esac
}

header() {
	local t
	printf '| %s |' "$1"
	for t in $cols; do printf ' %s |' "$(col_label "$t")"; done
	printf " the issue's figures (2 cores, loopback) |\n|---|"
	for t in $cols; do printf -- '---:|'; done
	printf -- '---|\n'
}

# details: every run of the section's targets (cols), a table per mode,
# with the runs set aside.
details() {
	local mode
	for mode in $MODES; do
		echo
		echo "<details><summary>Every $mode run</summary>"
		echo
		case $mode in
		handshake)
			echo '| round | target | handshakes/s | target µs per handshake | p50 ms | p99 ms | max ms | peerload µs per handshake | completed | failed | CPU: target | peerload | other processes |'
			echo '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
			mine "$results" | awk -F'\t' '$1=="handshake" {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s%% |\n", $2, $3, $7, $8, $9, $10, $11, $12, $13, $14, $5, $6, $4}'
			;;
		hold)
			echo '| round | target | kB per peer | held | held at the end | failed | RSS before, kB | RSS with the peers, kB | open, ms | target µs per open | CPU: target | peerload | other processes |'
			echo '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
			mine "$results" | awk -F'\t' '$1=="hold" {printf "| %s | %s | %s | %s/%s | %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s%% |\n", $2, $3, $7, $8, $15, $9, $10, $11, $12, int($13 + 0.5), $14, $5, $6, $4}'
			;;
		relay)
			echo '| round | target | p50 ms | p99 ms | max ms | listeners that got every tx | txs that reached every listener | pairs delivered | duplicate invs | wrong type | dropped | rpc p50 ms | CPU: target | peerload | other processes |'
			echo '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
			mine "$results" | awk -F'\t' '$1=="relay" {printf "| %s | %s | %s | %s | %s | %s/%s | %s/%s | %s/%s | %s | %s | %s | %s | %s%% | %s%% | %s%% |\n", $2, $3, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $5, $6, $4}'
			;;
		esac
		local f
		for f in "${failed_runs[@]}"; do
			[[ $f == *": $mode against "* ]] || continue
			case " $cols " in *" ${f##* } "*) ;; *) continue ;; esac
			echo
			echo "Failed every attempt, left out: $f."
		done
		if mine "$discarded" | awk -F'\t' -v m="$mode" '$1==m {found=1} END {exit !found}'; then
			echo
			echo "Set aside because other processes used more than ${MAX_OTHER}% of the CPUs during them (not counted above):"
			echo
			mine "$discarded" | awk -F'\t' -v m="$mode" '$1==m {printf "- round %s, %s: other processes %s%%\n", $2, $3, $4}'
		fi
		echo
		echo "</details>"
	done
}

# mine FILE prints the lines of the TSV FILE whose target is one of cols.
mine() { awk -F'\t' -v cols=" $cols " 'index(cols, " " $3 " ")' "$1"; }

# The command line that made the page: the settings of the modes run.
invocation="${REV:+BENCH_REV=$REV }BENCH_RUNS=$RUNS"
[[ $TARGETS == "$DEFAULT_TARGETS" ]] || invocation+=" BENCH_TARGETS=\"$TARGETS\""
[[ $MODES == "handshake hold relay" ]] || invocation+=" BENCH_MODES=\"$MODES\""
! has_mode handshake || invocation+=" BENCH_HS_COUNT=$HS_COUNT BENCH_HS_WORKERS=$HS_WORKERS"
! has_mode hold || invocation+=" BENCH_HOLD_PEERS=$HOLD_PEERS BENCH_HOLD=$HOLD BENCH_SETTLE=$SETTLE"
! has_mode relay || invocation+=" BENCH_RELAY_PEERS=$RELAY_PEERS BENCH_RELAY_TXS=$RELAY_TXS BENCH_BTCD_TRICKLE=$BTCD_TRICKLE"
! has btcd-v2 || invocation+=" BENCH_BTCD_V2_RATE=$BTCD_V2_RATE"
! has btcd-v2 || ! has_mode hold || invocation+=" BENCH_BTCD_V2_HOLD_PEERS=$BTCD_V2_HOLD_PEERS"

gen=$tmp/generated.md
section=v1 cols=$V1_TARGETS
{
	echo "$BEGIN"
	echo
	echo "Measured $started by \`$invocation scripts/bench-compare.sh\`."
	echo
	echo "- Machine: $(machine memory); the targets and peerload share the machine"
	echo "- Go: $(go version | cut -d' ' -f3-); btcd $BTCD_VERSION (go.mod's pin); peerd, peerload and peerfloor built from $PEERD_AT"
	if has_mode handshake || has_mode hold; then
		echo "- peerd: \`$PEERD_CMD\`"
		echo "- btcd: \`$BTCD_CMD\`"
		echo "- floor: \`$FLOOR_CMD\`"
	fi
	! has_mode handshake || echo "- handshake runs: \`$HS_CMD\`"
	! has_mode hold || echo "- hold runs: \`$HOLD_CMD\`"
	if has_mode relay; then
		echo "- peerd, relay runs: \`$PEERD_RELAY_CMD\`, then \`$PEERD_RELAY_RUN\`"
		echo "- btcd, relay runs: \`$BTCD_RELAY_CMD\`, then \`$FUND_CMD\` (mines $((RELAY_TXS + 100)) blocks and writes a signed spend of each of the first $RELAY_TXS coinbases), then \`$BTCD_RELAY_RUN\`"
		echo "- peerd's \$TXS: the output of the same \`peerload fund\` against a btcd started once, at the beginning, for that alone"
	fi
	echo
	if has_mode relay; then
		echo "Every run has a fresh target (\$TMP: a new temporary directory; \$P2P, \$RPC: free loopback ports; none.conf is empty; \$PID: the target's process id;"
		echo "\$PASS: a random password; \$ADDR: the address of the well-known key that \`peerload fund --address\` prints),"
	else
		echo "Every run has a fresh target (\$TMP: a new temporary directory; \$P2P: a free loopback port; none.conf is empty; \$PID: the target's process id),"
	fi
	echo "started $WARMUP s before peerload and stopped after it. $RUNS round$( ((RUNS == 1)) || echo s); in each, the targets take turns (the order rotates from round to round)."
	echo "Each cell is the median of the rounds, with the minimum and maximum in parentheses; a ratio is taken within each round, then its median, minimum and maximum."
	if has_mode handshake; then
		echo
		echo "### Handshakes: $HS_COUNT per run, $HS_WORKERS at a time"
		echo
		header 'handshake'
		row 'handshakes per second' handshake 7 '%.0f' 'peerd ≥ 1.5 × btcd'
		row "target's CPU per handshake, µs" handshake 8 '%.0f' 'btcd ≈ 140, floor ≈ 52, peerd ≤ 70'
		row 'latency, connect → verack, p50, ms' handshake 9 '%.2f' ''
		row 'latency, p99, ms' handshake 10 '%.2f' ''
		row "peerload's CPU per handshake, µs" handshake 12 '%.0f' ''
		row 'failed handshakes' handshake 14 '%d' ''
	fi
	if has_mode hold; then
		echo
		echo "### Held idle peers: $HOLD_PEERS per run"
		echo
		header 'hold'
		row "target's memory per held peer, kB (1,024 bytes)" hold 7 '%.2f' 'btcd ≈ 31 at 5,000–10,000 peers, floor ≈ 4, peerd ≤ 8'
		row "peers held (of $HOLD_PEERS)" hold 8 '%d' 'peerd: 10,000'
		row "peers still held after $HOLD" hold 9 '%d' ''
		row "target's RSS before, kB" hold 11 '%.0f' ''
		row "target's RSS with the peers, kB" hold 12 '%.0f' ''
		row "time to open them all, ms" hold 13 '%.0f' ''
		row "target's CPU per connection opened, µs" hold 14 '%.0f' ''
	fi
	if has_mode relay; then
		echo
		echo "### Relay fan-out: $RELAY_PEERS listeners, $RELAY_TXS transactions per run, one at a time"
		echo
		header 'relay'
		row 'RPC issued → inv read, p50 over all pairs, ms' relay 7 '%.2f' ''
		row 'p99, ms' relay 8 '%.2f' 'peerd < 20 at 1,000 listeners, trickle off'
		row 'max, ms' relay 9 '%.2f' ''
		row "listeners that got every tx (of $RELAY_PEERS)" relay 10 '%d' 'every listener gets every transaction'
		row "txs that reached every listener (of $RELAY_TXS)" relay 12 '%d' ''
		row 'sendrawtransaction call, p50, ms' relay 19 '%.2f' ''
		row 'per tx: issued → first inv, p50, ms' relay 20 '%.2f' ''
		row 'per tx: first → last inv (fan-out spread), p50, ms' relay 21 '%.2f' ''
		row 'duplicate invs' relay 16 '%d' ''
	fi
	if has peerd && { has btcd || has floor || has_mode relay; }; then
		echo
		echo "### peerd against the others, as ratios within a round"
		echo
		echo "| ratio | median (min–max) | the issue's target | the median |"
		echo "|---|---:|---:|---|"
		if has_mode handshake && has btcd; then
			echo "| handshakes per second, peerd / btcd | $(ratio handshake peerd btcd 7) | ≥ 1.5 | $(verdict "$(median_ratio handshake peerd btcd 7)" '>=' 1.5) |"
			echo "| CPU per handshake, peerd / btcd | $(ratio handshake peerd btcd 8) | ≤ 0.50 (70 / 140 µs) | $(verdict "$(median_ratio handshake peerd btcd 8)" '<=' 0.5) |"
		fi
		if has_mode handshake && has floor; then
			echo "| handshakes per second, peerd / floor | $(ratio handshake peerd floor 7) | | |"
			echo "| CPU per handshake, peerd / floor | $(ratio handshake peerd floor 8) | ≤ 1.35 (70 / 52 µs) | $(verdict "$(median_ratio handshake peerd floor 8)" '<=' 1.35) |"
		fi
		if has_mode hold && has btcd; then
			echo "| memory per held peer, peerd / btcd | $(ratio hold peerd btcd 7) | ≤ 0.26 (8 / 31 kB) | $(verdict "$(median_ratio hold peerd btcd 7)" '<=' 0.26) |"
		fi
		if has_mode hold; then
			held=$(fewest hold peerd 8)
			echo "| peers held by peerd, fewest of a round | $held of $HOLD_PEERS | 10,000 | $(verdict "$held" '>=' 10000) |"
		fi
		if has_mode hold && has floor; then
			echo "| memory per held peer, peerd / floor | $(ratio hold peerd floor 7) | ≤ 2 (8 / 4 kB) | $(verdict "$(median_ratio hold peerd floor 7)" '<=' 2) |"
		fi
		if has_mode relay && has btcd; then
			echo "| relay, RPC issued → inv read, p50, peerd / btcd | $(ratio relay peerd btcd 7) | | |"
			echo "| relay, p99, peerd / btcd | $(ratio relay peerd btcd 8) | | |"
		fi
		if has_mode relay && has floor; then
			echo "| relay, RPC issued → inv read, p50, peerd / floor | $(ratio relay peerd floor 7) | | |"
			echo "| relay, p99, peerd / floor | $(ratio relay peerd floor 8) | | |"
		fi
		if has_mode relay; then
			# The issue's relay target is for 1,000 listeners.
			p99=$(median_cell relay peerd 8) got=$(fewest relay peerd 10) judge=
			((RELAY_PEERS == 1000)) || judge="n/a ($RELAY_PEERS listeners)"
			echo "| relay p99 of peerd, ms (median of the rounds) | $([[ -z $p99 ]] && echo n/a || printf '%.2f' "$p99") | < 20 at 1,000 listeners | ${judge:-$(verdict "$p99" '<' 20)} |"
			echo "| listeners that got every tx from peerd, fewest of a round | ${got:-n/a} of $RELAY_PEERS | every listener | ${judge:-$(verdict "$got" '>=' "$RELAY_PEERS")} |"
		fi
	fi
	details
	echo
	echo "CPU columns: share of all $NCPU CPUs over the run's wall time (for hold, the idle holding included; for relay, connecting and the pauses between transactions), from /proc; \"other processes\" is what neither the target nor peerload used."
	echo
	echo "$END"
} >"$gen"

# The v2 section: the v2 targets, and peerd over v1 beside them.
gen2=$tmp/generated-v2.md
section=v2 cols=$V2_COLS
{
	echo "$BEGIN_V2"
	echo
	echo "Measured $started by \`$invocation scripts/bench-compare.sh\`, with the section above when it has the same date"
	echo "(the machine, the builds and how a run goes are as it says); every peerload connection speaks BIP 324 as the initiator (\`--v2\`), except peerd v1's."
	echo
	if has_mode handshake || has_mode hold; then
		! has peerd-v2 || echo "- peerd v2: \`$PEERD_CMD\` (as for v1: it tells v1 from v2 by a connection's first 16 bytes)"
		! has btcd-v2 || echo "- btcd v2: \`$BTCD_V2_CMD\`; peerload with \`--rate=$BTCD_V2_RATE\` (btcd v0.26.2 admits 20 inbound v2 handshakes a second), and $BTCD_V2_HOLD_PEERS peers in hold runs"
	fi
	! has_mode handshake || echo "- handshake runs: \`${HS_CMD/ --json/ --json --v2}\`"
	! has_mode hold || echo "- hold runs: \`${HOLD_CMD/ --json/ --json --v2}\`"
	if has_mode relay; then
		! has peerd-v2 || echo "- peerd v2, relay runs: \`$PEERD_RELAY_CMD\`, then \`${PEERD_RELAY_RUN/ --json/ --json --v2}\`"
		! has btcd-v2 || echo "- btcd v2, relay runs: as btcd's above, btcd with \`--v2transport\` and peerload with \`--v2\`"
	fi
	if has_mode handshake; then
		echo
		echo "#### Handshakes over v2: $HS_COUNT per run, $HS_WORKERS at a time"
		echo
		header 'handshake'
		row 'handshakes per second' handshake 7 '%.0f' ''
		row "target's CPU per handshake, µs" handshake 8 '%.0f' 'peerd v2 ≤ 0.9 × btcd v2'
		row 'latency, connect → verack, p50, ms' handshake 9 '%.2f' ''
		row 'latency, p99, ms' handshake 10 '%.2f' ''
		row "peerload's CPU per handshake, µs" handshake 12 '%.0f' ''
		row 'failed handshakes' handshake 14 '%d' ''
	fi
	if has_mode hold; then
		echo
		if has btcd-v2; then
			echo "#### Held idle v2 peers: $HOLD_PEERS per run (btcd v2: $BTCD_V2_HOLD_PEERS)"
		else
			echo "#### Held idle v2 peers: $HOLD_PEERS per run"
		fi
		echo
		header 'hold'
		row "target's memory per held peer, kB (1,024 bytes)" hold 7 '%.2f' 'peerd v2 ≤ 12 at 10,000 peers'
		of=$HOLD_PEERS
		! has btcd-v2 || of+="; btcd v2: of $BTCD_V2_HOLD_PEERS"
		row "peers held (of $of)" hold 8 '%d' ''
		row "peers still held after $HOLD" hold 9 '%d' ''
		row "target's RSS with the peers, kB" hold 12 '%.0f' ''
		row "time to open them all, ms" hold 13 '%.0f' ''
		row "target's CPU per connection opened, µs" hold 14 '%.0f' ''
	fi
	if has_mode relay; then
		echo
		echo "#### Relay fan-out to v2 listeners: $RELAY_PEERS listeners, $RELAY_TXS transactions per run, one at a time"
		echo
		header 'relay'
		row 'RPC issued → inv read, p50 over all pairs, ms' relay 7 '%.2f' ''
		row 'p99, ms' relay 8 '%.2f' 'peerd v2 < 30 at 1,000 listeners, trickle off'
		row 'max, ms' relay 9 '%.2f' ''
		row "listeners that got every tx (of $RELAY_PEERS)" relay 10 '%d' 'every listener gets every transaction'
		row 'per tx: first → last inv (fan-out spread), p50, ms' relay 21 '%.2f' ''
		row 'duplicate invs' relay 16 '%d' ''
	fi
	if has peerd-v2; then
		echo
		echo "#### peerd v2 against btcd v2 and against itself over v1"
		echo
		echo "| ratio or figure | median (min–max) | the issue's target | the median |"
		echo "|---|---:|---:|---|"
		if has_mode handshake && has btcd-v2; then
			echo "| CPU per handshake, peerd v2 / btcd v2 | $(ratio handshake peerd-v2 btcd-v2 8) | ≤ 0.9 | $(verdict "$(median_ratio handshake peerd-v2 btcd-v2 8)" '<=' 0.9) |"
		fi
		if has_mode handshake && has peerd; then
			echo "| CPU per handshake, peerd v2 / peerd v1 | $(ratio handshake peerd-v2 peerd 8) | | |"
		fi
		if has_mode hold; then
			kb=$(median_cell hold peerd-v2 7) held=$(fewest hold peerd-v2 8) judge=
			((HOLD_PEERS == 10000)) || judge="n/a ($HOLD_PEERS peers)"
			echo "| memory per held v2 peer of peerd, kB (median of the rounds) | $([[ -z $kb ]] && echo n/a || printf '%.2f' "$kb") | ≤ 12 at 10,000 peers | ${judge:-$(verdict "$kb" '<=' 12)} |"
			echo "| v2 peers held by peerd, fewest of a round | ${held:-n/a} of $HOLD_PEERS | | |"
			! has btcd-v2 || echo "| memory per held v2 peer, peerd v2 / btcd v2 | $(ratio hold peerd-v2 btcd-v2 7) | | |"
			! has peerd || echo "| memory per held peer, peerd v2 / peerd v1 | $(ratio hold peerd-v2 peerd 7) | | |"
		fi
		if has_mode relay; then
			p99=$(median_cell relay peerd-v2 8) got=$(fewest relay peerd-v2 10) judge=
			((RELAY_PEERS == 1000)) || judge="n/a ($RELAY_PEERS listeners)"
			echo "| relay p99 of peerd to v2 listeners, ms (median of the rounds) | $([[ -z $p99 ]] && echo n/a || printf '%.2f' "$p99") | < 30 at 1,000 listeners | ${judge:-$(verdict "$p99" '<' 30)} |"
			echo "| v2 listeners that got every tx from peerd, fewest of a round | ${got:-n/a} of $RELAY_PEERS | every listener | ${judge:-$(verdict "$got" '>=' "$RELAY_PEERS")} |"
			! has peerd || echo "| relay p99, peerd v2 / peerd v1 | $(ratio relay peerd-v2 peerd 8) | | |"
		fi
	fi
	details
	echo
	echo "$END_V2"
} >"$gen2"

# The v1 section is left alone when peerd is its only target beside v2
# ones: it is there as the v2 section's reference.
if [[ -n $V1_TARGETS && ($V1_TARGETS != peerd || -z $V2_TARGETS) ]]; then
	put_section "$gen" "$OUT" "$BEGIN" "$END" "Handshakes, held peers and relay: peerd, btcd and the floor"
	cat "$gen"
fi
if [[ -n $V2_TARGETS ]]; then
	put_section "$gen2" "$OUT" "$BEGIN_V2" "$END_V2" "BIP 324 (v2): peerd and btcd"
	cat "$gen2"
fi
log "wrote $OUT"
