# shellcheck shell=bash
# bench-lib.sh holds what scripts/bench-compare.sh and scripts/bench-relay.sh
# share: the temporary directory, and stopping the process under test
# when the script ends; waiting for it to start; free ports; CPU
# accounting from /proc; waiting for a quiet machine, and repeating a run
# that other processes disturbed; the machine's description; putting a
# generated section into a page between its markers. They source it from
# the repository's root (". scripts/bench-lib.sh"); it is not a script of
# its own.
#
# Sourcing it sets HZ (jiffies per second) and NCPU; bench_init sets tmp
# and target_pid. The functions also use these variables of the script
# that sources them, when they run:
#   QUIET_PCT, QUIET_WAIT  wait_quiet's limits
#   RETRIES, MAX_OTHER     measure_quietly's limits
#   results, discarded     the files measure_quietly appends runs to

bench_name=$(basename "$0" .sh)

# log prints its arguments on stderr, after the script's name.
log() { echo "$bench_name: $*" >&2; }

# bench_init TEMPLATE TENTHS makes the script's temporary directory, $tmp
# (mktemp's TEMPLATE), and sets traps that, when the script ends (or is
# interrupted), stop the target (stop_target) and remove $tmp.
bench_init() {
	tmp=$(mktemp -d -t "$1")
	stop_tenths=$2
	target_pid=
	trap 'stop_target; rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
}

# stop_target stops the process under test, whose pid the script keeps in
# target_pid (a child of this shell), if any: SIGINT, up to TENTHS (of
# bench_init) tenths of a second to end, then SIGKILL; then it reaps it.
stop_target() {
	[[ -n $target_pid ]] || return 0
	if kill -0 "$target_pid" 2>/dev/null; then
		kill -INT "$target_pid" 2>/dev/null || true
		for _ in $(seq "$stop_tenths"); do
			kill -0 "$target_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$target_pid" 2>/dev/null || true
	fi
	wait "$target_pid" 2>/dev/null || true
	target_pid=
}

# await_target NAME LOG FILE PORT... waits until the target just started
# (target_pid) accepts connections on every loopback PORT and, unless FILE
# is empty, has written FILE (peerd's cookie), for at most 30 s. If it
# exits or the time runs out, it says that NAME did not start, prints LOG
# and returns 1.
await_target() {
	local name=$1 logfile=$2 file=$3 p up
	shift 3
	for _ in $(seq 300); do
		up=1
		[[ -z $file || -f $file ]] || up=
		for p in "$@"; do
			[[ -n $up ]] || break
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || up=
		done
		[[ -z $up ]] || return 0
		kill -0 "$target_pid" 2>/dev/null || break
		sleep 0.1
	done
	log "$name did not start:"
	cat "$logfile" >&2
	return 1
}

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

# cpu_start PID, before a run, and cpu_end PID, after it, read the CPU
# time of all CPUs and of process PID (the target), for jq_cpu.
cpu_start() {
	read -r cpu_busy0 cpu_total0 < <(busy_ticks)
	cpu_target0=$(proc_ticks "$1")
}
cpu_end() {
	read -r cpu_busy1 cpu_total1 < <(busy_ticks)
	cpu_target1=$(proc_ticks "$1")
}

# jq_cpu PROGRAM FILE [JQ OPTION...] runs jq -r PROGRAM on peerload's JSON
# FILE, with the run's CPU use (between cpu_start and cpu_end) in these
# variables, as whole percentages of all CPUs over the run's wall time:
# $target_pct, the target's; $peerload_pct, peerload's (its
# peerload_cpu_ms); $other_pct, what the rest of the machine used.
jq_cpu() {
	local program=$1 file=$2
	shift 2
	jq -r "$@" --argjson hz "$HZ" --argjson ncpu "$NCPU" --argjson busy "$((cpu_busy1 - cpu_busy0))" \
		--argjson total "$((cpu_total1 - cpu_total0))" --argjson tgt "$((cpu_target1 - cpu_target0))" '
		($total / $ncpu / $hz) as $wall
		| (.peerload_cpu_ms / 1000) as $pl
		| ([($busy / $hz) - ($tgt / $hz) - $pl, 0] | max) as $other
		| ($tgt / $hz * 100 / $wall / $ncpu | floor) as $target_pct
		| ($pl * 100 / $wall / $ncpu | floor) as $peerload_pct
		| ($other * 100 / $wall / $ncpu | floor) as $other_pct
		| '"$program" "$file"
}

# measure_quietly WHAT COLUMN SUMMARY COMMAND [ARG...] measures once, or
# more often if other processes disturbed it: it waits for a quiet machine
# and runs COMMAND ARG... ATTEMPT (ATTEMPT counts from 0), which must write
# the run's figures as one TSV line to $tmp/line.tsv, and logs them with the
# awk program SUMMARY. If other processes used more than MAX_OTHER% of the
# CPUs (the line's COLUMN), the line goes to $discarded and the run is
# repeated, at most RETRIES times; the line kept goes to $results.
# COMMAND runs in this shell, not in a subshell: it may start and stop the
# target, whose pid the EXIT trap must see.
measure_quietly() {
	local what=$1 column=$2 summary=$3 attempt quiet line other
	shift 3
	for attempt in $(seq 0 "$RETRIES"); do
		quiet=$(wait_quiet)
		log "$what, attempt $((attempt + 1)) (machine ${quiet}% busy before)"
		if ! "$@" "$attempt"; then
			# A failed run (the target refused connections, say) is
			# reported above; the target is stopped and the run left
			# out, so one bad run does not lose the others.
			stop_target
			if ((attempt == RETRIES)); then
				log "$what failed $((RETRIES + 1)) times: left out"
				failed_runs+=("$what")
			fi
			continue
		fi
		line=$(<"$tmp/line.tsv")
		other=$(cut -f"$column" <<<"$line")
		log "$(awk -F'\t' "$summary" <<<"$line")"
		if ((other <= MAX_OTHER || attempt == RETRIES)); then
			echo "$line" >>"$results"
			break
		fi
		log "other processes used more than ${MAX_OTHER}% of the CPUs: setting this run aside and repeating it"
		echo "$line" >>"$discarded"
	done
}

# machine [memory] prints the machine, for the page: "`nproc` N, CPU
# model, Linux release", with its memory in GiB before Linux if asked.
machine() {
	printf '`nproc` %s, CPU %s, ' "$NCPU" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	[[ ${1:-} != memory ]] || awk '/^MemTotal/ {printf "%.0f GiB, ", $2/1048576}' /proc/meminfo
	echo "Linux $(uname -r)"
}

# put_section GENERATED OUT BEGIN END HEADING puts the file GENERATED (a
# section from the line BEGIN to the line END) into the page OUT: in place
# of what stands between those lines if OUT has both, else at its end under
# "## HEADING" (a new OUT starts with "# Benchmarks"). The rest of OUT is
# kept.
put_section() {
	local gen=$1 out=$2 begin=$3 end=$4 heading=$5
	if [[ -f $out ]] && grep -qF "$begin" "$out" && grep -qF "$end" "$out"; then
		awk -v gen="$gen" -v b="$begin" -v e="$end" '
			$0 == b {while ((getline l < gen) > 0) print l; skip = 1; next}
			$0 == e {skip = 0; next}
			!skip' "$out" >"$tmp/out.md"
	else
		mkdir -p "$(dirname "$out")"
		{
			if [[ -f $out ]]; then
				cat "$out"
			else
				echo "# Benchmarks"
			fi
			echo
			echo "## $heading"
			echo
			cat "$gen"
		} >"$tmp/out.md"
	fi
	cp "$tmp/out.md" "$out"
}
