package main

// Placeholder until the Parquet dataset writer is wired in.

import (
	"context"
	"errors"

	"github.com/cflens/cflens/ingest"
)

func openDatasetWriter(ctx context.Context, o *ingestOptions) (ingest.Sink, error) {
	return nil, errors.New("--out is not available in this build")
}
