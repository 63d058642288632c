// Package athenatest runs an Athena endpoint for tests: an HTTP server on
// 127.0.0.1 that speaks Athena's JSON 1.1 protocol (X-Amz-Target
// AmazonAthena.StartQueryExecution, GetQueryExecution, GetQueryResults,
// StopQueryExecution) to the real SDK client, and executes the submitted
// SQL text with DuckDB over data kept in an S3 server (versitygw in the
// tests).
//
// It decides no answer: what runs is the SQL it is given. Before each
// statement it copies the objects under the location of every table
// declared so far from S3 to a temporary folder (DuckDB's httpfs extension
// is not available offline), and it writes each result as Athena does:
// <output location><query id>.csv, with a JSON <id>.csv.metadata naming
// the columns and their types (Athena's own metadata file is binary).
//
// What stands in for Athena, and how it differs:
//   - CREATE EXTERNAL TABLE registers the table and makes it a DuckDB view
//     of its location: Parquet tables read with hive_partitioning (the
//     partition projection's storage template of cflens's DDL is the Hive
//     layout, so the folders give the same partitions; projection ranges
//     are not applied), text tables (the raw CloudFront log table) read
//     tab-separated with the header lines skipped, every field cast from
//     text as Hive's LazySimpleSerDe does (an unparsable value is NULL),
//     and "$path" the object's s3:// URL.
//   - INSERT INTO a declared Parquet table runs the SELECT, writes the rows
//     as Parquet into Hive partition folders under the table's location
//     and uploads them.
//   - Cells are rendered as Athena renders them in GetQueryResults
//     (timestamps "2006-01-02 15:04:05.000", NULL as an absent value).
//   - DataScannedInBytes is the size of the objects of the tables the
//     statement names, read whole: an upper bound of what Athena, which
//     prunes partitions and reads only the named columns, would report.
//
// Faults are injected per server: a statement whose text contains a
// marker fails with a given reason (Fail), calls of an operation are
// throttled with TooManyRequestsException (Throttle), and statements can
// be held RUNNING for a while (Hold) so that tests can time out, cancel
// and stop them.
//
// The package is test infrastructure: only tests import it.
package athenatest
