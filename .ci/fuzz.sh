#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time (default 10s each).
# Crashers land in the package's testdata/fuzz/ folder; commit them so they
# become regular test cases. New interesting inputs are not minimized
# (FUZZMINIMIZETIME, default 0x): in a short run the default minute of
# minimizing would take the whole budget, and a run whose time ends while
# it minimizes is reported as failed ("context deadline exceeded").
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
status=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		echo "fuzz ${pkg} ${target} for ${fuzztime}"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime}" \
			-fuzzminimizetime "${FUZZMINIMIZETIME:-0x}" "${pkg}"; then
			status=1
		fi
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
exit "$status"
