// Package queries holds the Athena DDL and the analysis SQL of cflens as
// embedded .sql files, rendered with text/template and Params.
//
// The DDL declares the columns of the one record schema (ingest/schema)
// and the dataset's Hive partitions with partition projection. The
// analysis queries are written in the Trino dialect that Athena runs and
// stay within what DuckDB also accepts, so the same text runs on DuckDB
// over a local copy of the dataset when Params.Relation names a
// read_parquet(…, hive_partitioning = true) call instead of the table.
//
// The tally queries (tally_*.sql, with Params.Tally) count what the local
// analysis engine counts, grouped the same way: rows by fate, requests per
// window × role × local clock hour × time bucket (all and error-path),
// status histograms with the result types of the 500s, and the path
// classification with its top lists. package analyze turns their rows
// into the Tallies a Result is built from.
//
// The package imports only the schema; it must not import the AWS SDK.
package queries
