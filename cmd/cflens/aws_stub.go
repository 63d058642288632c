package main

// Placeholder until aws.go lands with the S3 source: delete this file when
// aws.go defines awsOptions, bindAWSFlags and newS3Source.

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/cflens/cflens/ingest"
)

type awsOptions struct{}

func bindAWSFlags(fs *pflag.FlagSet, a *awsOptions) {}

func newS3Source(ctx context.Context, spec string, aws awsOptions, ids map[string]string) (ingest.Source, error) {
	return nil, errors.New("s3 sources are not available in this build")
}
