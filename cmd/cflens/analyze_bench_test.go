//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/inflate"
	"github.com/cflens/cflens/ingest/loggen"
)

// benchDataset returns a Parquet dataset written by the ingest path from
// a generated corpus of lines lines, with the corpus. The corpus is kept
// between runs in loggen.CacheDir; the dataset is written for the run, as
// one kept between runs would have been written by whatever writer was
// current then.
func benchDataset(b *testing.B, lines int64, files int) (string, string, *loggen.Corpus) {
	b.Helper()
	root, err := loggen.CacheDir()
	if err != nil {
		root = b.TempDir()
	}
	gzDir := filepath.Join(root, fmt.Sprintf("analyze-dataset-%d", lines), "gz")
	c, err := loggen.WriteCorpus(context.Background(), gzDir, loggen.CorpusOptions{Lines: lines, Files: files, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	dsDir := b.TempDir()
	datasettest.Ingest(b, dsDir, filepath.Join(gzDir, "*.gz"))
	return dsDir, gzDir, c
}

// inflateLines inflates the first n files of the corpus on one core and
// counts their lines: a fixed amount of work that shows how fast the
// machine is during the run.
func inflateLines(b *testing.B, gzDir string, names []string) int64 {
	var lines int64
	for _, name := range names {
		f, err := os.Open(filepath.Join(gzDir, name))
		if err != nil {
			b.Fatal(err)
		}
		r, err := inflate.Decompress(f, 1<<40)
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			_, err := br.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			lines++
		}
		r.Close()
		f.Close()
	}
	return lines
}

// BenchmarkAnalyzeDataset measures `cflens analyze --dataset` without the
// report: the dataset's files read in time slices on all cores
// (readDatasetSlices) into an aggregator, over 2 million rows (50 000
// with -short). It reports rows per second of wall time and per
// CPU-second of the process, and, as a baseline for a shared machine,
// gunzip-lines/s: one core inflating a fixed part of the .gz corpus in
// the same loop.
func BenchmarkAnalyzeDataset(b *testing.B) {
	lines, files := int64(2_000_000), 120
	if testing.Short() {
		lines, files = 50_000, 8
	}
	dsDir, gzDir, c := benchDataset(b, lines, files)
	ctx := context.Background()
	on, en, w, typ := true, true, loggen.DefaultWeight, analyze.PolicyWeighted
	opts := analyze.DefaultOptions()
	opts.Timeline = &analyze.Timeline{
		Distributions: analyze.Distributions{Production: c.Production, Staging: c.Staging},
		Changes: []analyze.Change{
			{At: c.Start, Role: "production", CustomErrorResponses: &on},
			{At: c.Start, Role: "staging", CustomErrorResponses: &on},
			{At: c.Start, ContinuousDeployment: &analyze.PolicyChange{Enabled: &en, Type: &typ, Weight: &w}},
		},
	}
	base := c.Names[:max(1, len(c.Names)/8)]
	var tRead, cRead, tBase time.Duration
	var baseLines int64
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		baseLines = inflateLines(b, gzDir, base)
		tBase += time.Since(start)

		start, cpu := time.Now(), cpuTime()
		a, err := analyze.NewAggregator(opts)
		if err != nil {
			b.Fatal(err)
		}
		st, err := dataset.NewDirStore(dsDir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dataset.ReadParallel(ctx, st, dataset.ReadOptions{Columns: a.Columns(), DictStrings: true}, runtime.GOMAXPROCS(0), a); err != nil {
			b.Fatal(err)
		}
		res := a.Result()
		tRead += time.Since(start)
		cRead += cpuTime() - cpu
		if res.Input.Analyzed != lines {
			b.Fatalf("analysed %d rows, want %d", res.Input.Analyzed, lines)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(lines)*n/tRead.Seconds(), "rows/s")
	b.ReportMetric(float64(lines)*n/cRead.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(baseLines)*n/tBase.Seconds(), "gunzip-lines/s")
	b.ReportMetric((float64(lines)/tRead.Seconds())/(float64(baseLines)/tBase.Seconds()), "rows/gunzip-line")
}

// cpuTime returns the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
