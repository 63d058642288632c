// Package s3test runs the S3 tests of cflens against a real S3 server:
// versitygw on 127.0.0.1 with a temporary data folder, and a reverse proxy
// in front of it that injects faults (SlowDown bursts, resets before the
// headers and in the middle of a body, truncated, corrupted and stalled
// bodies, added latency) and counts requests.
//
// The versitygw binary is found through the environment variable
// CFLENS_VERSITYGW (.ci/install-versitygw.sh builds it and prints its path).
// When the variable is unset the tests skip, except under CI=true where a
// missing binary fails them.
package s3test
