#!/usr/bin/env bash
# bench-relay.sh measures peerd's relay fan-out latency with peerload and
# writes the results into docs/benchmarks.md.
#
# It builds peerd and peerload, and for each peer count (100 and 1,000)
# runs peerload relay 3 times, each time against a fresh peerd (regtest,
# loopback only, trickle off, empty temporary data directory), so that no
# run sees an earlier run's transactions or connections. Before each run it
# waits (a bounded time) for the machine to be quiet, and it records how
# much CPU other processes used during the run: the numbers mean little if
# something else was competing for the cores.
#
# The generated part of docs/benchmarks.md lies between the BEGIN and END
# markers below; the rest of the file (the analysis) is kept.
#
# Needs go, jq, awk and Linux's /proc; the functions it shares with
# bench-compare.sh are in scripts/bench-lib.sh.
#
# Settings (environment):
#   BENCH_PEERS       peer counts                       (default "100 1000")
#   BENCH_RUNS        runs per peer count               (default 3)
#   BENCH_TXS         transactions per run              (default 20)
#   BENCH_OUT         the page to write                 (default docs/benchmarks.md)
#   BENCH_KEEP        a directory to copy each run's JSON and peerd log into
#   BENCH_QUIET_PCT   other processes may use at most this % of all CPUs
#                     before a run starts               (default 10)
#   BENCH_QUIET_WAIT  seconds to wait for that, per run (default 300)
#   BENCH_MAX_OTHER   a run during which other processes used more than
#                     this % of all CPUs is set aside and repeated
#                                                       (default 10)
#   BENCH_RETRIES     at most this many times per run   (default 3)
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
PEERS=${BENCH_PEERS:-"100 1000"}
RUNS=${BENCH_RUNS:-3}
TXS=${BENCH_TXS:-20}
OUT=${BENCH_OUT:-docs/benchmarks.md}
KEEP=${BENCH_KEEP:-}
QUIET_PCT=${BENCH_QUIET_PCT:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-300}
BEGIN='<!-- BEGIN scripts/bench-relay.sh: generated, do not edit -->'
END='<!-- END scripts/bench-relay.sh -->'

bench_init peerd-bench-XXXXXX 100

# Each peerd needs one descriptor per peer; peerload raises its own limit.
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 4096 ]]; then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || log "warning: cannot raise the open file limit above $(ulimit -n)"
fi

log "building peerd and peerload"
go build -o "$tmp/peerd" ./cmd/peerd
go build -o "$tmp/peerload" ./cmd/peerload

start_peerd() { # $1: run name
	local datadir=$tmp/data.$1
	mkdir -p "$datadir"
	: >"$tmp/none.conf"
	p2p_port=$(free_port)
	rpc_port=$(free_port)
	while [[ $rpc_port == "$p2p_port" ]]; do rpc_port=$(free_port); done
	peerd_datadir=$datadir
	"$tmp/peerd" --regtest --datadir="$datadir" --configfile="$tmp/none.conf" \
		--listen="127.0.0.1:$p2p_port" --rpclisten="127.0.0.1:$rpc_port" \
		--trickleinterval=0s --maxpeers=1100 --nodnsseed --nologfile --debuglevel=warn \
		>"$tmp/peerd.$1.log" 2>&1 &
	target_pid=$!
	await_target peerd "$tmp/peerd.$1.log" "$datadir/regtest/.cookie" "$rpc_port"
}

# The command, as the page shows it.
PEERD_CMD='peerd --regtest --datadir=$TMP/data --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --rpclisten=127.0.0.1:$RPC --trickleinterval=0s --maxpeers=1100 --nodnsseed --nologfile --debuglevel=warn'
PEERLOAD_CMD='peerload --regtest --target=127.0.0.1:$P2P --rpcserver=127.0.0.1:$RPC --datadir=$TMP/data --peers=$N --json -q relay --txs='$TXS

# measure N RUN ATTEMPT: one run of peerload against a fresh peerd; writes
# the run's figures as one TSV line (columns: see the jq program) to
# $tmp/line.tsv. (Not run in a subshell: the EXIT trap must see target_pid.)
measure() {
	local n=$1 run=$2 name=$1.$2.$3
	start_peerd "$name"
	cpu_start "$target_pid"
	if ! "$tmp/peerload" --regtest --target="127.0.0.1:$p2p_port" --rpcserver="127.0.0.1:$rpc_port" \
		--datadir="$peerd_datadir" --peers="$n" --json -q relay --txs="$TXS" >"$tmp/run.$name.json" 2>"$tmp/run.$name.err"; then
		log "peerload failed:"
		cat "$tmp/run.$name.err" >&2
		tail -20 "$tmp/peerd.$name.log" >&2
		return 1
	fi
	cpu_end "$target_pid"
	stop_target
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP"
		cp "$tmp/run.$name.json" "$tmp/peerd.$name.log" "$KEEP/"
	fi
	# CPU: peerd's, peerload's and other processes', as a % of all CPUs
	# over the run's wall time.
	jq_cpu '[$n, $run,
		   .issue_to_inv.p50_ms, .issue_to_inv.p99_ms, .issue_to_inv.max_ms,
		   .listeners_got_all, .peers, .txs_reached_all, .txs, .delivered_pairs, .pairs, .duplicate_invs,
		   .rpc.p50_ms, .rpc.p99_ms, .first_inv.p50_ms, .spread.p50_ms, .spread.max_ms,
		   (.peerd_invsent.p99_ms // "n/a"), .return_to_inv.p99_ms,
		   $target_pct, $peerload_pct, $other_pct, .dropped_connections]
		| @tsv' "$tmp/run.$name.json" --arg n "$n" --arg run "$run" >"$tmp/line.tsv"
}

# A run during which other processes used more than BENCH_MAX_OTHER% of
# the CPUs is set aside (listed on the page, not counted) and repeated,
# at most BENCH_RETRIES times; the last attempt is kept whatever happened.
MAX_OTHER=${BENCH_MAX_OTHER:-10}
RETRIES=${BENCH_RETRIES:-3}
results=$tmp/results.tsv
discarded=$tmp/discarded.tsv
: >"$results"
: >"$discarded"
for n in $PEERS; do
	for run in $(seq "$RUNS"); do
		measure_quietly "run $run of $RUNS with $n peers" 22 \
			'{printf "p50 %s ms, p99 %s ms, max %s ms; %s/%s listeners got every tx; other processes used %s%% of the CPUs", $3, $4, $5, $6, $7, $22}' \
			measure "$n" "$run"
	done
done

# stat COLUMN N FORMAT prints "median min max" of column COLUMN over N's
# runs, each with the printf FORMAT.
stat() {
	awk -F'\t' -v n="$2" -v c="$1" '$1==n {print $c}' "$results" | sort -g |
		awk -v f="$3" '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf f "\t" f "\t" f "\n", m, a[1], a[NR]}'
}

row() { # label column n [format]
	local m lo hi
	IFS=$'\t' read -r m lo hi < <(stat "$2" "$3" "${4:-%.2f}")
	printf '| %s | %s | %s | %s |\n' "$1" "$m" "$lo" "$hi"
}

gen=$tmp/generated.md
{
	echo "$BEGIN"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`BENCH_PEERS=\"$PEERS\" BENCH_RUNS=$RUNS BENCH_TXS=$TXS scripts/bench-relay.sh\`."
	echo
	echo "- Machine: $(machine)"
	echo "- Go: $(go version | cut -d' ' -f3-)"
	echo "- peerd: \`$PEERD_CMD\` (\$TMP: a fresh temporary directory per run, so an empty mempool; \$P2P, \$RPC: free loopback ports; none.conf is empty)"
	echo "- peerload: \`$PEERLOAD_CMD\` (\$N: the peer count; $RUNS runs per peer count; peerload and peerd share the machine)"
	echo
	echo "Latency is from the moment peerload issues \`sendrawtransaction\` to the moment a listener has read the inv,"
	echo "over all (transaction, listener) pairs of a run; the table gives the median of the $RUNS runs' values, and their minimum and maximum."
	for n in $PEERS; do
		echo
		echo "### $n peers"
		echo
		echo '| ms, RPC issued → inv read | median | min | max |'
		echo '|---|---:|---:|---:|'
		row p50 3 "$n"
		row p99 4 "$n"
		row max 5 "$n"
		row "listeners that got every tx (of $n)" 6 "$n" %d
		row "txs that reached every listener (of $TXS)" 8 "$n" %d
		echo
		echo '| other figures, ms | median | min | max |'
		echo '|---|---:|---:|---:|'
		row 'sendrawtransaction call, p50' 13 "$n"
		row 'sendrawtransaction call, p99' 14 "$n"
		row 'per tx: issued → first inv, p50' 15 "$n"
		row 'per tx: first → last inv (fan-out spread), p50' 16 "$n"
		row 'per tx: first → last inv (fan-out spread), max' 17 "$n"
		row "peerd's own invsent record, from issue, p99" 18 "$n"
		row 'RPC returned → inv read, p99' 19 "$n"
		echo
		echo '| run | p50 | p99 | max | listeners that got every tx | txs that reached every listener | pairs delivered | duplicate invs | dropped | CPU: peerd | peerload | other processes |'
		echo '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
		awk -F'\t' -v n="$n" '$1==n {printf "| %s | %s | %s | %s | %s/%s | %s/%s | %s/%s | %s | %s | %s%% | %s%% | %s%% |\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $23, $20, $21, $22}' "$results"
		if awk -F'\t' -v n="$n" '$1==n {found=1} END {exit !found}' "$discarded"; then
			echo
			echo "Set aside because other processes used more than ${MAX_OTHER}% of the CPUs during them (not counted above):"
			echo
			echo '| for run | p50 | p99 | max | listeners that got every tx | CPU: peerd | peerload | other processes |'
			echo '|---:|---:|---:|---:|---:|---:|---:|---:|'
			awk -F'\t' -v n="$n" '$1==n {printf "| %s | %s | %s | %s | %s/%s | %s%% | %s%% | %s%% |\n", $2, $3, $4, $5, $6, $7, $20, $21, $22}' "$discarded"
		fi
	done
	echo
	echo "CPU columns: share of all $NCPU CPUs over the run's wall time (connecting included), from /proc; \"other processes\" is what neither peerd nor peerload used."
	echo
	echo "$END"
} >"$gen"

put_section "$gen" "$OUT" "$BEGIN" "$END" "Relay fan-out latency"
log "wrote $OUT"
cat "$gen"
