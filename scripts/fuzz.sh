#!/usr/bin/env bash
# fuzz.sh [DURATION]: runs every fuzz target in the module for DURATION each
# (default 10s), one after another. CI runs it after the tests; run it with
# a longer duration (e.g. 10m) to search harder. A crash is saved by Go under
# the package's testdata/fuzz/ and fails the run: commit that file, it then
# runs as a regression input in every `go test`. An engine failure that saved
# no input (a worker missing a deadline on a loaded machine) is reported but
# does not fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
status=0
# files prints how many files the directory $1 holds (0 if it does not exist).
files() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "== fuzz $pkg $name for $dur"
	out=$(mktemp)
	corpus="$pkg/testdata/fuzz/$name"
	before=$(files "$corpus")
	if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$dur" "$pkg" >"$out" 2>&1 </dev/null; then
		tail -2 "$out"
	else
		cat "$out"
		if [ "$(files "$corpus")" -gt "$before" ]; then
			echo "== $name found a failing input, saved in $corpus"
			status=1
		else
			# No input was saved: the fuzzing engine itself failed (on a
			# loaded machine its workers can miss a deadline). That is not
			# a finding about our code; say so and go on.
			echo "== $name: the fuzzer stopped without a failing input; not counted"
		fi
	fi
	rm -f "$out"
done < <(grep -rn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's#^\./##; s#:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*#:\1#')
exit $status
