// Package s3store is the object store of a Parquet dataset kept in Amazon
// S3 (or an S3-compatible store): the dataset.Store behind
// --out s3://bucket/prefix/, with whole-object Put (one PutObject carrying
// a CRC32C checksum), Get, List and Delete under one location.
//
// It shares the request helpers of ingest/s3source (fetch with a length
// check and an idle timeout, paginated listing asked again on throttling,
// SDK errors turned into ours), so that a missing key wraps fs.ErrNotExist
// here as there. It receives a configured *s3.Client and reads no flags
// and no environment variables; it must not import the parser or the
// dataset package (dataset declares the Store interface it satisfies).
package s3store
