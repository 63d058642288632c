// Package s3source reads CloudFront standard access logs from Amazon S3 (or
// an S3-compatible store). With ingest/s3store, which it lends its request
// helpers (OpenObject, ListObjects, ConvertErr), it is the only package
// besides cmd/cflens that imports the AWS SDK; it turns SDK errors into
// plain ones at its boundary (a missing object wraps fs.ErrNotExist) so
// that callers never import smithy.
//
// Source lists log objects narrowed by key prefix to the requested hours,
// for the legacy naming (prefix/<ID>.YYYY-MM-DD-HH.<unique>.gz) and for the
// paths of standard logging v2 (Hive-style DistributionId=<ID>/year=…/
// month=…/day=…/hour=…/, templated <ID>/{yyyy}/{MM}/{dd}/{HH}/, date
// folders without the ID holding legacy file names, and custom templates
// given in Options). Given the distribution IDs, it probes each layout once
// per distribution and then lists one prefix per hour (per day inside the
// range), from an hour before the range to 24 hours after it for late
// files, several prefixes at a time; without IDs it lists the whole prefix
// and keeps the keys that name a distribution or an hour. It never yields
// the files of a cflens dataset: keys under a folder named like a dataset
// partition (distributionid=…) are skipped when the folder above it holds
// a _cflens/ journal, which one small listing per such folder tells. A list page that
// still fails after the SDK's retries is asked again a few times. Open
// fetches one object, pinned to the listed ETag, and returns a body that
// fails loudly when it comes back short or stalls, instead of ending early
// or hanging; re-fetching is the pipeline's job.
//
// The dataset's store for --out s3://bucket/prefix/ lives in
// ingest/s3store; the S3 test server in ingest/s3test.
//
// The package receives a configured *s3.Client; it reads no flags and no
// environment variables.
package s3source
