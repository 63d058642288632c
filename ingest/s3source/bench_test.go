package s3source

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
)

// benchBatchRows sets the parser's batch size in the ingest benchmarks
// (0: the default), to tell the cost of fetching from that of parsing.
var benchBatchRows = flag.Int("bench-batch-rows", 0, "parser batch rows in the ingest benchmarks (0: default)")

const (
	benchObjects = 2000
	benchLatency = 20 * time.Millisecond
)

// BenchmarkS3Latency ingests 2,000 small log objects through a proxy that
// adds 20 ms to every request, and reports the wall time against the ideal
// of objects × latency / workers (listing requests not counted in the
// ideal), besides objects and bytes per second.
func BenchmarkS3Latency(b *testing.B) {
	f := newE2EFixture(b, benchObjects)
	f.proxy.SetLatency(benchLatency)
	var raw int64
	for _, o := range f.objs {
		raw += int64(len(o.body))
	}
	for _, workers := range []int{8, 32, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ideal := time.Duration(benchObjects) * benchLatency / time.Duration(workers)
			var wall time.Duration
			for b.Loop() {
				start := time.Now()
				sum, err := runBench(b, f.source(b, 30*time.Second), workers)
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Rows != f.want || sum.Objects != benchObjects {
					b.Fatalf("took %d objects and %d rows, want %d and %d", sum.Objects, sum.Rows, benchObjects, f.want)
				}
			}
			per := wall / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(ideal), "wall/ideal")
			b.ReportMetric(float64(benchObjects)/per.Seconds(), "objects/s")
			b.ReportMetric(float64(raw)/per.Seconds()/1e6, "MB/s")
		})
	}
}

// BenchmarkS3Fetch lists and reads the same 2,000 objects through the
// 20 ms proxy with a plain worker pool and no parsing: the S3 source's own
// share of BenchmarkS3Latency, against the same ideal.
func BenchmarkS3Fetch(b *testing.B) {
	f := newE2EFixture(b, benchObjects)
	f.proxy.SetLatency(benchLatency)
	for _, workers := range []int{8, 32, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ideal := time.Duration(benchObjects) * benchLatency / time.Duration(workers)
			var wall time.Duration
			for b.Loop() {
				src := f.source(b, 30*time.Second)
				start := time.Now()
				n, err := fetchAll(context.Background(), src, workers)
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if n != benchObjects {
					b.Fatalf("read %d objects, want %d", n, benchObjects)
				}
			}
			per := wall / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(ideal), "wall/ideal")
			b.ReportMetric(float64(benchObjects)/per.Seconds(), "objects/s")
		})
	}
}

// fetchAll lists src and reads every object to the end, workers at once.
func fetchAll(ctx context.Context, src ingest.Source, workers int) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	refs := make(chan ingest.ObjectRef, workers)
	var n atomic.Int64
	g.Go(func() error {
		defer close(refs)
		for r, err := range src.List(ctx, time.Time{}, time.Time{}) {
			if err != nil {
				return err
			}
			select {
			case refs <- r:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			for r := range refs {
				rc, err := src.Open(ctx, r)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					return err
				}
				n.Add(1)
			}
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}

// BenchmarkDirSource ingests the same 2,000 objects from a local folder,
// for comparison with BenchmarkS3Latency.
func BenchmarkDirSource(b *testing.B) {
	objs := makeLogObjects(b, "logs/", benchObjects)
	dir := writeFolder(b, objs)
	var raw, rows int64
	for _, o := range objs {
		raw += int64(len(o.body))
		rows += o.rows
	}
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var wall time.Duration
			for b.Loop() {
				src, err := dirsource.New(dir, "")
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				sum, err := runBench(b, src, workers)
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Rows != rows {
					b.Fatalf("took %d rows, want %d", sum.Rows, rows)
				}
			}
			per := wall / time.Duration(b.N)
			b.ReportMetric(float64(benchObjects)/per.Seconds(), "objects/s")
			b.ReportMetric(float64(raw)/per.Seconds()/1e6, "MB/s")
		})
	}
}

func runBench(b *testing.B, src ingest.Source, workers int) (*ingest.Summary, error) {
	b.Helper()
	opts := ingest.DefaultOptions()
	opts.Workers = workers
	if *benchBatchRows > 0 {
		opts.BatchRows = *benchBatchRows
	}
	return ingest.Run(context.Background(), opts, []ingest.Source{src}, newCountingSink())
}
