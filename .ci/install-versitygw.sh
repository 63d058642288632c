#!/usr/bin/env bash
# Builds the versitygw S3 server used by the S3 tests into a cache folder
# keyed on its version, skipping the build when the binary is already there,
# and prints the binary's path. Use it as:
#
#   export CFLENS_VERSITYGW="$(.ci/install-versitygw.sh)"
#
# The build takes a few minutes on a cold machine; the cache makes later runs
# take seconds.
set -euo pipefail

version="${VERSITYGW_VERSION:-v1.8.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cflens-tools/versitygw-${version}"
bin="${cache}/versitygw"

if [[ ! -x "${bin}" ]]; then
	mkdir -p "${cache}"
	tmp="$(mktemp -d "${cache}/build.XXXXXX")"
	trap 'rm -rf "${tmp}"' EXIT
	echo "building versitygw ${version} into ${cache}" >&2
	GOBIN="${tmp}" go install "github.com/versity/versitygw/cmd/versitygw@${version}" >&2
	mv "${tmp}/versitygw" "${bin}"
fi

echo "${bin}"
