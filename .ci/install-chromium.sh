#!/usr/bin/env bash
# Installs Debian's Chromium for the HTML report tests when it is missing,
# and prints its path.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
	if [[ "$(id -u)" != 0 ]]; then
		echo "chromium is missing; install the Debian package 'chromium' (needs root)" >&2
		exit 1
	fi
	echo "installing chromium" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq chromium >&2
fi
command -v chromium
