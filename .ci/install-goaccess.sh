#!/usr/bin/env bash
# Installs Debian's GoAccess (and zcat) for the benchmark suite when they are
# missing, and prints goaccess's path. The suite measures GoAccess on the
# same files as cflens; without it, it skips that tool with a note. Not
# installing is not an error here either: the script then prints nothing
# and exits 0, so "make bench" still runs the other tools.
set -euo pipefail
if ! command -v goaccess >/dev/null 2>&1 || ! command -v zcat >/dev/null 2>&1; then
	if [[ "$(id -u)" != 0 ]]; then
		echo "goaccess is missing; install the Debian packages 'goaccess' and 'gzip' (needs root)" >&2
		exit 0
	fi
	echo "installing goaccess" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq >&2 && apt-get install -y -qq goaccess gzip >&2; }; then
		echo "could not install goaccess; the benchmark will skip it" >&2
		exit 0
	fi
fi
command -v goaccess
