package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
)

// openDatasetToWrite opens the object store of a dataset to write: a local
// folder, created if needed, or s3://bucket/prefix/.
func openDatasetToWrite(ctx context.Context, spec string, a awsOptions) (dataset.Store, error) {
	if strings.HasPrefix(spec, "s3://") {
		return newS3Store(ctx, spec, a)
	}
	st, err := dataset.NewDirStore(spec)
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", spec, err)
	}
	return st, nil
}

// openDatasetToRead opens the object store of a dataset to read. A local
// folder must exist: reading creates nothing, and a mistyped path is an
// error, not an empty dataset.
func openDatasetToRead(ctx context.Context, spec string, a awsOptions) (dataset.Store, error) {
	if strings.HasPrefix(spec, "s3://") {
		return newS3Store(ctx, spec, a)
	}
	st, err := dataset.OpenDirStore(spec)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	return st, nil
}

// openDatasetWriter opens the Parquet dataset of --out for writing.
func openDatasetWriter(ctx context.Context, o *ingestOptions) (ingest.Sink, error) {
	opts := dataset.DefaultOptions()
	switch o.compression {
	case dataset.CompressionZstd, dataset.CompressionSnappy:
		opts.Compression = o.compression
	default:
		return nil, usage.Errorf("compressions are zstd and snappy", "unknown compression %q", o.compression)
	}
	if o.checkpointBytes > 0 {
		opts.BufferBytes = o.checkpointBytes
	}
	st, err := openDatasetToWrite(ctx, o.out, o.src.aws)
	if err != nil {
		return nil, err
	}
	// Rows of objects already committed are written even after an
	// interrupt (Close finishes the last checkpoint), so that the
	// summary of an interrupted run matches the dataset.
	w, err := dataset.NewWriter(context.WithoutCancel(ctx), st, opts)
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", o.out, err)
	}
	return w, nil
}
