// Package loggen generates realistic CloudFront standard access logs from a
// seeded scenario: a production distribution and its continuous-deployment
// staging distribution, a timeline of custom-error-response windows with a
// chosen probability of HTTP 500 on error paths per window and role, and
// peak hours in which CloudFront sends no traffic to staging. It writes the
// logs as legacy files (gzip, #Version/#Fields header, TAB-separated, named
// <ID>.YYYY-MM-DD-HH.<unique>.gz) or as standard logging v2 outputs (JSON,
// W3C, Parquet under Hive-style or templated paths), and returns the Truth:
// what it generated, for tests to check an analysis against.
//
// It also writes benchmark corpora of millions of lines (WriteCorpus).
//
// Everything is deterministic from the scenario's seed: the same scenario
// gives the same bytes. The package is pure Go; it must not import the AWS
// SDK, the parser or the analyzer, only the record schema.
//
// It is the generator of logs for tests, the demo and the benchmarks, not
// part of ingesting: it sits next to ingest because it writes what ingest
// reads and every layer's tests use it, and the repository keeps its top
// level to cmd, ingest, analyze and queries. Production code imports it
// only through the demo (cmd/internal/demo) and the benchmark commands
// (cmd/cflensbench); 'go list -deps' of the other commands shows none.
package loggen
