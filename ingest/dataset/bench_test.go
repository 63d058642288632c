package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
)

// benchObjects generates objects of lines each: two distributions, files of
// one hour each.
func benchObjects(objects, lines int) []object {
	objs := make([]object, objects)
	for i := range objs {
		dist := []string{"E2PROD", "E3STAGE"}[i%2]
		h := hour0.Add(time.Duration(i/8) * time.Hour)
		data := genLog(h, time.Hour, lines, uint64(i+100))
		key := fmt.Sprintf("logs/%s.%s.%04d.gz", dist, h.Format("2006-01-02-15"), i)
		objs[i] = object{ref: ingest.ObjectRef{Key: key, ETag: "b", Size: int64(len(data)), DistributionID: dist}, data: data}
	}
	return objs
}

// BenchmarkWriteParquet measures the writer alone: parsed batches (all
// columns) to zstd Parquet files in a local folder.
func BenchmarkWriteParquet(b *testing.B) {
	perObject := 64 * 1024
	if testing.Short() {
		perObject = 2048
	}
	objs := benchObjects(16, perObject)
	mem := memory.NewGoAllocator()
	parsed := make([][]arrow.RecordBatch, len(objs))
	lines := 0
	for i, o := range objs {
		parsed[i] = parseLog(b, mem, o.ref, o.data)
		for _, x := range parsed[i] {
			lines += int(x.NumRows())
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := NewDirStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		w, err := NewWriter(ctx, st, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		for j, o := range objs {
			os, err := w.Begin(ctx, o.ref)
			if err != nil {
				b.Fatal(err)
			}
			for _, x := range parsed[j] {
				if err := os.Write(x); err != nil {
					b.Fatal(err)
				}
			}
			if err := os.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// writeBenchCorpus writes gzip log files of lines lines in total into dir
// (files of 64k lines, two distributions, one hour each), unless dir
// already holds them. It returns the number of lines.
func writeBenchCorpus(dir string, lines int) (int, error) {
	const per = 64 * 1024
	files := (lines + per - 1) / per
	for i := 0; i < files; i++ {
		dist := []string{"E2PROD", "E3STAGE"}[i%2]
		h := hour0.Add(time.Duration(i/8) * time.Hour)
		name := filepath.Join(dir, fmt.Sprintf("%s.%s.%04d.gz", dist, h.Format("2006-01-02-15"), i))
		if _, err := os.Stat(name); err == nil {
			continue
		}
		data := genLog(h, time.Hour, per, uint64(i+100))
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return 0, err
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return 0, err
		}
	}
	return files * per, nil
}

// benchCorpus returns the benchmark corpus folder: $CFLENS_BENCH_CORPUS
// when set (generated there once and kept, so that memory measurements
// of a run exclude the generation), otherwise a temporary folder.
func benchCorpus(b *testing.B, lines int) (string, int) {
	dir := os.Getenv("CFLENS_BENCH_CORPUS")
	if dir == "" {
		dir = b.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	n, err := writeBenchCorpus(dir, lines)
	if err != nil {
		b.Fatal(err)
	}
	return dir, n
}

// BenchmarkIngestGzToParquet measures the whole path: gzip log files in a
// folder → ingest.Run (fetch, gunzip, parse) → zstd Parquet dataset, all
// columns, over 1 Mi lines.
func BenchmarkIngestGzToParquet(b *testing.B) {
	n := 1 << 20
	if testing.Short() {
		n = 32 * 1024
	}
	dir, lines := benchCorpus(b, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := dirsource.New(dir, "")
		if err != nil {
			b.Fatal(err)
		}
		st, err := NewDirStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		w, err := NewWriter(ctx, st, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		sum, err := ingest.Run(ctx, ingest.Options{Workers: 4, BatchRows: 16 * 1024}, []ingest.Source{src}, w)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Rows != int64(lines) {
			b.Fatalf("%d rows, want %d", sum.Rows, lines)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
