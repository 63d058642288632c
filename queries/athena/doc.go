// Package athena runs cflens's SQL on Amazon Athena: it submits rendered
// statements (StartQueryExecution), polls them with backoff
// (GetQueryExecution), pages their results (GetQueryResults) into tables
// of string cells, and stops every query still running when the caller
// gives up (StopQueryExecution). It prices what a run scanned as Athena
// bills it and estimates, before anything runs, what a run can scan from
// the sizes of the dataset's objects in the pruned partitions.
//
// It is the only package of cflens that imports the Athena SDK
// (github.com/aws/aws-sdk-go-v2/service/athena); SDK errors become the
// package's own (*QueryError, ErrThrottled) here. The SQL itself comes
// from package queries, which stays free of the SDK. Analyze runs an
// analysis on Athena: the tally queries of the plan (TallyStatements),
// their rows turned into tallies by package analyze, and the result
// built from them with an engine block saying what ran and what it cost.
//
// athenatest holds the test endpoint: an Athena JSON 1.1 server on
// 127.0.0.1 that runs the submitted SQL on DuckDB over data in an S3
// server.
package athena
