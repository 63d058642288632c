#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time (default 10s each),
# built with the tag inflatecheck: ingest/inflate's fast loop then checks
# the bounds it otherwise skips (see huffman in ingest/inflate/deflate.go).
# Crashers land in the package's testdata/fuzz/ folder; commit them so they
# become regular test cases. New interesting inputs are not minimized
# (FUZZMINIMIZETIME, default 0x): in a short run the default minute of
# minimizing would take the whole budget, and a run whose time ends while
# it minimizes is reported as failed ("context deadline exceeded").
#
# Go's fuzzing coordinator up to Go 1.26 can also report its own -fuzztime
# deadline as a failure (go.dev/issue/75804): the target fails with a bare
# "context deadline exceeded" and no failing input is written. Such a run
# is tried again, at most twice; any other failure, and any run that writes
# a failing input, fails the script.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# deadline_race reports whether the run logged in $out ended in the
# coordinator's deadline race rather than in a failing input.
deadline_race() {
	local target="$1"
	grep -q -- "^--- FAIL: ${target} " "$out" &&
		grep -qx '    context deadline exceeded' "$out" &&
		! grep -q 'Failing input written to' "$out"
}

status=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		for try in 1 2 3; do
			echo "fuzz ${pkg} ${target} for ${fuzztime} (try ${try})"
			if go test -tags inflatecheck -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime}" \
				-fuzzminimizetime "${FUZZMINIMIZETIME:-0x}" "${pkg}" 2>&1 | tee "$out"; then
				break
			fi
			if [ "$try" -lt 3 ] && deadline_race "$target"; then
				echo "fuzz ${pkg} ${target}: the run ended in the fuzzing coordinator's deadline race (go.dev/issue/75804), no failing input; trying again"
				continue
			fi
			status=1
			break
		done
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
exit "$status"
