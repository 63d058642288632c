// Package analyze correlates the 500 responses of a production and a
// staging CloudFront distribution with configuration windows (custom error
// responses on or off, continuous deployment policy) and with the hour of
// day.
//
// It owns the configuration timeline (YAML in and out, Windows), the
// streaming Aggregator (an ingest.Sink that sees only Arrow batches of the
// cflens schema, keeping per-object partial aggregates until Commit), the
// statistics (Wilson intervals, chi-square and Fisher's exact tests, risk
// differences) and the Result type with its JSON contract
// "cflens.analysis/v1".
//
// The analysis is split in two: Tallies, the grouped counts the statistics
// need, and Build, which computes a Result from tallies and a Plan. The
// Aggregator counts tallies by streaming, with the per-stem counts of the
// path classification held within a memory budget and spilled to files by
// hash partition past it (stems.go); the tally queries of package queries
// count the same tallies in SQL, and TalliesFromRows reads their results. It must not import the AWS SDK or any source
// package: rows reach it through ingest.Sink.
package analyze
