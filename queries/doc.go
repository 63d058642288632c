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
// The package imports only the schema; it must not import the AWS SDK.
package queries
