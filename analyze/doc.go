// Package analyze correlates the 500 responses of a production and a
// staging CloudFront distribution with configuration windows (custom error
// responses on or off, continuous deployment policy) and with the hour of
// day.
//
// It owns the configuration timeline (YAML in and out, Windows), the
// streaming Aggregator (an ingest.Sink that sees only Arrow batches of the
// cflens schema, keeping per-object partial aggregates until Commit), the
// statistics (Wilson intervals, chi-square and Fisher's exact tests, risk
// differences), change detection on a Result's time series (Detect: when
// the 500 share of a role or staging's share of requests changed, peak
// hours masked; package changepoint does the segmentation) and the Result
// type with its JSON contract "cflens.analysis/v1". It must not import the AWS SDK or any source
// package: rows reach it through ingest.Sink.
package analyze
