// Package datasettest builds Parquet datasets for tests and benchmarks
// the way 'cflens ingest --out' does.
package datasettest

import (
	"context"
	"testing"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
)

// Ingest writes the logs that src names (a file, folder or glob, as
// dirsource.New takes it) into a dataset in the existing folder dir, with
// the default options of the ingest pipeline and of the writer, and
// returns the run's summary. Any error, an incomplete run included,
// fails tb at once.
func Ingest(tb testing.TB, dir, src string) *ingest.Summary {
	tb.Helper()
	ctx := context.Background()
	st, err := dataset.NewDirStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := dataset.NewWriter(ctx, st, dataset.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := dirsource.New(src, "")
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := ingest.Run(ctx, ingest.DefaultOptions(), []ingest.Source{s}, w)
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}
