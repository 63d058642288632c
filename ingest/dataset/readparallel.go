package dataset

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/ingest"
)

// ReadParallel delivers the selected rows of the dataset to sink like
// Read, reading up to n files at once (n is capped at GOMAXPROCS). The
// dataset is listed once; each reader takes the next file not yet taken,
// the largest first, so that the readers end close together whatever the
// files' sizes (one time slice per reader, cut at whole hours, left one
// reader with 58% of the rows of the benchmark corpus). The counts are
// those of every file together. The sink gets its objects from several
// goroutines at once, in no set order, and is closed exactly once, after
// the last reader ends, also when a read fails.
func ReadParallel(ctx context.Context, st Store, o ReadOptions, n int, sink ingest.Sink) (ingest.Counts, error) {
	var total ingest.Counts
	files, err := Files(ctx, st, o)
	if err != nil {
		return total, errors.Join(err, sink.Close(ctx))
	}
	slices.SortStableFunc(files, func(a, b DataFile) int { return cmp.Compare(b.Size, a.Size) })
	o.fill()
	cols := o.columns()
	n = max(1, min(n, runtime.GOMAXPROCS(0), len(files)))
	counts := make([]ingest.Counts, n)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range counts {
		g.Go(func() error {
			var sc flatScratch
			defer sc.release()
			for i := next.Add(1) - 1; i < int64(len(files)); i = next.Add(1) - 1 {
				if err := readFile(gctx, st, o, cols, files[i], &sc, sink, &counts[w]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	if cerr := sink.Close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	for _, c := range counts {
		total.Add(c)
	}
	return total, err
}
