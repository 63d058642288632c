// Package e2e holds tests that cross the layers of cflens and so belong
// to none of them: the agreement of the SQL that users take to Athena with
// the Go analyzer over one dataset, and the benchmark of analysis
// throughput against the gzip ceiling and DuckDB. It sits under cmd, the
// top of the import graph, so that ingest's tests never import analyze or
// queries. It has no code of its own; DuckDB stays in its test binary.
package e2e
