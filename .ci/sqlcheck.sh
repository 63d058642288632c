#!/usr/bin/env bash
# Parses every SQL statement cflens ships with an independent parser
# (DTStack's dt-sql-parser): the queries with Trino's grammar, which Athena
# engine v3 runs, the DDL with Hive's. The statements are rendered with
# representative parameters by .ci/sqlcheck/render; the parser is installed
# from the committed lock file and bundled for Node 20 with esbuild (its
# ES-module build does not load in Node as published).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "${root}/.ci/sqlcheck"
npm ci --no-audit --no-fund --loglevel=error >&2
npx --no-install esbuild check.mjs --bundle --platform=node --format=esm --outfile=out/check.mjs --log-level=warning
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
(cd "${root}" && go run ./.ci/sqlcheck/render "${tmp}")
node out/check.mjs "${tmp}"
