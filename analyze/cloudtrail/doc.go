// Package cloudtrail builds a configuration timeline (analyze.Timeline)
// from the CloudTrail record of CloudFront API calls: when custom error
// responses were switched on or off on a production distribution and its
// staging distribution, how their continuous deployment policy was set
// (enabled, weighted or header-based, weight, stickiness), and when the
// staging configuration was promoted.
//
// It reads CloudTrail log files (gzip or plain JSON objects holding a
// "Records" array) through ingest.Source, so that local folders and S3
// prefixes work alike, decodes them one record at a time, keeps the events
// of the given distributions and of the policies linked to them, orders
// them by eventTime (files arrive out of order, and the same event can be
// delivered twice), skips failed calls, and reports what it read.
//
// CloudFront is a global service: its events are in the us-east-1 folder
// of a trail (AWSLogs/<account>/CloudTrail/us-east-1/YYYY/MM/DD/).
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/logging_using_cloudtrail.html
//
// The package must not import the AWS SDK; the command builds the S3
// source.
package cloudtrail
