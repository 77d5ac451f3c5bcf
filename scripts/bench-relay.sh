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
# Needs go, jq, awk and Linux's /proc.
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
PEERS=${BENCH_PEERS:-"100 1000"}
RUNS=${BENCH_RUNS:-3}
TXS=${BENCH_TXS:-20}
OUT=${BENCH_OUT:-docs/benchmarks.md}
KEEP=${BENCH_KEEP:-}
QUIET_PCT=${BENCH_QUIET_PCT:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-300}
BEGIN='<!-- BEGIN scripts/bench-relay.sh: generated, do not edit -->'
END='<!-- END scripts/bench-relay.sh -->'

tmp=$(mktemp -d -t peerd-bench-XXXXXX)
peerd_pid=

stop_peerd() {
	[[ -n $peerd_pid ]] || return 0
	if kill -0 "$peerd_pid" 2>/dev/null; then
		kill -INT "$peerd_pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$peerd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$peerd_pid" 2>/dev/null || true
	fi
	wait "$peerd_pid" 2>/dev/null || true
	peerd_pid=
}
cleanup() {
	stop_peerd
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-relay: $*" >&2; }

# Each peerd needs one descriptor per peer; peerload raises its own limit.
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 4096 ]]; then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || log "warning: cannot raise the open file limit above $(ulimit -n)"
fi

log "building peerd and peerload"
go build -o "$tmp/peerd" ./cmd/peerd
go build -o "$tmp/peerload" ./cmd/peerload

# free_port prints a loopback port nobody listens on, below Linux's
# ephemeral range (so that peerload's own connections cannot take it).
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# busy_ticks prints "busy total" jiffies of all CPUs from /proc/stat.
busy_ticks() {
	awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6; exit}' /proc/stat
}

# proc_ticks prints the user+system jiffies of process $1.
proc_ticks() {
	# Field 2 (comm) may hold spaces: count from after its ")".
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12+$13}'
}

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# wait_quiet waits until other processes use at most QUIET_PCT% of the
# CPUs over 2 s, for at most QUIET_WAIT s, and prints the last reading.
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) b0 t0 b1 t1 pct
	while :; do
		read -r b0 t0 < <(busy_ticks)
		sleep 2
		read -r b1 t1 < <(busy_ticks)
		pct=$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
		if ((pct <= QUIET_PCT)); then
			echo "$pct"
			return
		fi
		if ((SECONDS >= deadline)); then
			log "warning: the machine is still ${pct}% busy after ${QUIET_WAIT}s; measuring anyway"
			echo "$pct"
			return
		fi
		log "machine ${pct}% busy with other work; waiting"
		sleep 3
	done
}

start_peerd() { # $1: run name
	local datadir=$tmp/data.$1 i
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
	peerd_pid=$!
	for i in $(seq 150); do
		if [[ -f $datadir/regtest/.cookie ]] && (exec 3<>"/dev/tcp/127.0.0.1/$rpc_port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$peerd_pid" 2>/dev/null || break
		sleep 0.1
	done
	log "peerd did not start:"
	cat "$tmp/peerd.$1.log" >&2
	return 1
}

# The command, as the page shows it.
PEERD_CMD='peerd --regtest --datadir=$TMP/data --configfile=$TMP/none.conf --listen=127.0.0.1:$P2P --rpclisten=127.0.0.1:$RPC --trickleinterval=0s --maxpeers=1100 --nodnsseed --nologfile --debuglevel=warn'
PEERLOAD_CMD='peerload --regtest --target=127.0.0.1:$P2P --rpcserver=127.0.0.1:$RPC --datadir=$TMP/data --peers=$N --json -q relay --txs='$TXS

# measure N RUN NAME: one run of peerload against a fresh peerd; writes
# the run's figures as one TSV line (columns: see the jq program) to
# $tmp/line.tsv. (Not run in a subshell: the EXIT trap must see peerd_pid.)
measure() {
	local n=$1 run=$2 name=$3 b0 t0 b1 t1 p0 p1
	start_peerd "$name"
	read -r b0 t0 < <(busy_ticks)
	p0=$(proc_ticks "$peerd_pid")
	if ! "$tmp/peerload" --regtest --target="127.0.0.1:$p2p_port" --rpcserver="127.0.0.1:$rpc_port" \
		--datadir="$peerd_datadir" --peers="$n" --json -q relay --txs="$TXS" >"$tmp/run.$name.json" 2>"$tmp/run.$name.err"; then
		log "peerload failed:"
		cat "$tmp/run.$name.err" >&2
		tail -20 "$tmp/peerd.$name.log" >&2
		return 1
	fi
	read -r b1 t1 < <(busy_ticks)
	p1=$(proc_ticks "$peerd_pid")
	stop_peerd
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP"
		cp "$tmp/run.$name.json" "$tmp/peerd.$name.log" "$KEEP/"
	fi
	# CPU seconds: all busy time, peerd's, peerload's; the rest is other
	# processes'. Percentages are of all CPUs over the run's wall time.
	jq -r --arg n "$n" --arg run "$run" --argjson hz "$HZ" --argjson ncpu "$NCPU" \
		--argjson busy "$((b1 - b0))" --argjson total "$((t1 - t0))" --argjson peerd "$((p1 - p0))" '
		($total / $ncpu / $hz) as $wall
		| (.peerload_cpu_ms / 1000) as $pl
		| ([($busy / $hz) - ($peerd / $hz) - $pl, 0] | max) as $other
		| [$n, $run,
		   .issue_to_inv.p50_ms, .issue_to_inv.p99_ms, .issue_to_inv.max_ms,
		   .listeners_got_all, .peers, .txs_reached_all, .txs, .delivered_pairs, .pairs, .duplicate_invs,
		   .rpc.p50_ms, .rpc.p99_ms, .first_inv.p50_ms, .spread.p50_ms, .spread.max_ms,
		   (.peerd_invsent.p99_ms // "n/a"), .return_to_inv.p99_ms,
		   ($peerd / $hz * 100 / $wall / $ncpu | floor), ($pl * 100 / $wall / $ncpu | floor),
		   ($other * 100 / $wall / $ncpu | floor), .dropped_connections]
		| @tsv' "$tmp/run.$name.json" >"$tmp/line.tsv"
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
		for attempt in $(seq 0 "$RETRIES"); do
			quiet=$(wait_quiet)
			log "run $run of $RUNS with $n peers, attempt $((attempt + 1)) (machine ${quiet}% busy before)"
			measure "$n" "$run" "$n.$run.$attempt"
			line=$(<"$tmp/line.tsv")
			other=$(cut -f22 <<<"$line")
			log "$(awk -F'\t' '{printf "p50 %s ms, p99 %s ms, max %s ms; %s/%s listeners got every tx; other processes used %s%% of the CPUs", $3, $4, $5, $6, $7, $22}' <<<"$line")"
			if ((other <= MAX_OTHER || attempt == RETRIES)); then
				echo "$line" >>"$results"
				break
			fi
			log "other processes used more than ${MAX_OTHER}% of the CPUs: setting this run aside and repeating it"
			echo "$line" >>"$discarded"
		done
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
	echo "- Machine: \`nproc\` $NCPU, CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
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

if [[ -f $OUT ]] && grep -qF "$BEGIN" "$OUT" && grep -qF "$END" "$OUT"; then
	awk -v gen="$gen" -v b="$BEGIN" -v e="$END" '
		$0 == b {while ((getline l < gen) > 0) print l; skip = 1; next}
		$0 == e {skip = 0; next}
		!skip' "$OUT" >"$tmp/out.md"
	cp "$tmp/out.md" "$OUT"
else
	mkdir -p "$(dirname "$OUT")"
	{
		echo "# Benchmarks"
		echo
		echo "## Relay fan-out latency"
		echo
		cat "$gen"
	} >"$OUT"
fi
log "wrote $OUT"
cat "$gen"
