package dataset

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/ingest"
)

// ReadParallel delivers the selected rows of the dataset to sink like
// Read, reading up to n time slices at once (n is capped at GOMAXPROCS).
// Data files are hour partitions, so slices cut on whole hours split the
// files without filtering rows; each slice is balanced by file size. The
// counts are those of every slice together. The
// sink gets its objects from several goroutines at once, and is closed
// exactly once, after the last slice ends, also when a slice fails.
func ReadParallel(ctx context.Context, st Store, o ReadOptions, n int, sink ingest.Sink) (ingest.Counts, error) {
	var total ingest.Counts
	files, err := Files(ctx, st, ReadOptions{From: o.From, To: o.To, Distributions: o.Distributions})
	if err != nil {
		return total, errors.Join(err, sink.Close(ctx))
	}
	bounds := hourSlices(files, o.From, o.To, max(1, min(n, runtime.GOMAXPROCS(0))))
	counts := make([]ingest.Counts, len(bounds)-1)
	g, gctx := errgroup.WithContext(ctx)
	for i := range counts {
		ro := o
		ro.From, ro.To = bounds[i], bounds[i+1]
		g.Go(func() error {
			var err error
			counts[i], err = Read(gctx, st, ro, sliceSink{sink})
			return err
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

// hourSlices cuts [from, to) at whole hours into up to n slices holding
// about the same bytes of files each.
func hourSlices(files []DataFile, from, to time.Time, n int) []time.Time {
	sizes := map[time.Time]int64{}
	var total int64
	for _, f := range files {
		sizes[f.Partition.Hour] += max(f.Size, 1)
		total += max(f.Size, 1)
	}
	hours := make([]time.Time, 0, len(sizes))
	for h := range sizes {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	bounds := []time.Time{from}
	var acc int64
	for _, h := range hours {
		if len(bounds) < n && acc > 0 && acc >= total*int64(len(bounds))/int64(n) && h.After(from) {
			bounds = append(bounds, h)
		}
		acc += sizes[h]
	}
	return append(bounds, to)
}

// sliceSink is the sink of one slice: Read closes it when the slice ends,
// which must not close the sink that every slice shares.
type sliceSink struct{ ingest.Sink }

func (sliceSink) Close(context.Context) error { return nil }
