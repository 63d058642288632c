package s3source

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The request helpers below are shared with ingest/s3store, the dataset's
// S3 store, so that both packages fetch, list and report errors alike.

// OpenObject GETs bucket/key with response checksum validation and returns
// a body that fails with ErrShortBody when it ends early and ErrStalled
// when no byte arrives for idle. A missing key wraps fs.ErrNotExist.
func OpenObject(ctx context.Context, client *s3.Client, bucket, key string, idle time.Duration) (io.ReadCloser, error) {
	return openObject(ctx, client, bucket, key, "", -1, idle)
}

// ListObjects calls fn for every object under bucket/prefix in key order,
// asking a failing page again a few times, until fn returns false.
func ListObjects(ctx context.Context, client *s3.Client, bucket, prefix string, fn func(types.Object) bool) error {
	return listObjects(ctx, client, bucket, prefix, 0, 0, fn)
}

// ConvertErr turns an SDK error into ours: a missing object wraps
// fs.ErrNotExist, a failed precondition wraps ErrChanged.
func ConvertErr(err error) error { return convertErr(err) }

// Unquote strips the double quotes S3 puts around an ETag.
func Unquote(etag string) string { return unquote(etag) }
