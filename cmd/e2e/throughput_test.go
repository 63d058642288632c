//go:build unix

package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/inflate"
	"github.com/cflens/cflens/ingest/loggen"
)

// corpusDir returns where the benchmark corpus is kept between runs.
func corpusDir(b *testing.B, lines int64) string {
	root, err := loggen.CacheDir()
	if err != nil {
		return b.TempDir()
	}
	return filepath.Join(root, fmt.Sprintf("analyze-%d", lines))
}

func timeline(c *loggen.Corpus) *analyze.Timeline {
	on, en, w, typ := true, true, loggen.DefaultWeight, analyze.PolicyWeighted
	return &analyze.Timeline{
		Distributions: analyze.Distributions{Production: c.Production, Staging: c.Staging},
		Changes: []analyze.Change{
			{At: c.Start, Role: "production", CustomErrorResponses: &on},
			{At: c.Start, Role: "staging", CustomErrorResponses: &on},
			{At: c.Start, ContinuousDeployment: &analyze.PolicyChange{Enabled: &en, Type: &typ, Weight: &w}},
		},
	}
}

func newAggregator(b *testing.B, c *loggen.Corpus) *analyze.Aggregator {
	opts := analyze.DefaultOptions()
	opts.Timeline = timeline(c)
	a, err := analyze.NewAggregator(opts)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// gunzipAll inflates every file on all cores and counts the lines: the
// ceiling of any analysis straight from .gz.
func gunzipAll(b *testing.B, dir string, names []string) int64 {
	var mu sync.Mutex
	var lines int64
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, n := range names {
		g.Go(func() error {
			f, err := os.Open(filepath.Join(dir, n))
			if err != nil {
				return err
			}
			defer f.Close()
			r, err := inflate.Decompress(f, 1<<40)
			if err != nil {
				return err
			}
			defer r.Close()
			br := bufio.NewReaderSize(r, 1<<20)
			var n int64
			for {
				_, err := br.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					continue
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				n++
			}
			mu.Lock()
			lines += n
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return lines
}

// BenchmarkAnalyzeThroughput measures, in one run over one corpus of
// generated legacy .gz logs (5 million lines; 50 000 with -short):
//
//	gunzip-lines/s    inflating the files and splitting lines, all cores
//	duckdb-lines/s    DuckDB read_csv + GROUP BY status, result type
//	gz-lines/s        cflens analysis straight from the .gz files
//	parquet-rows/s    cflens analysis from its Parquet dataset
//
// the ratios gz/gunzip, gz/duckdb and parquet/gz, and the same rates per
// CPU-second of the process (steadier when other work shares the cores).
func BenchmarkAnalyzeThroughput(b *testing.B) {
	lines, files := int64(5_000_000), 120
	if testing.Short() {
		lines, files = 50_000, 8
	}
	ctx := context.Background()
	dir := corpusDir(b, lines)
	gzDir := filepath.Join(dir, "gz")
	c, err := loggen.WriteCorpus(ctx, gzDir, loggen.CorpusOptions{Lines: lines, Files: files, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	// The dataset is written afresh: one kept between runs would have
	// been written by whatever writer was current then.
	dsDir := b.TempDir()
	datasettest.Ingest(b, dsDir, filepath.Join(gzDir, "*.gz"))
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var globs []string
	for _, n := range c.Names {
		globs = append(globs, "'"+filepath.Join(gzDir, n)+"'")
	}
	// Two header lines per file (#Version, #Fields); the status is the
	// 9th field and the result type the 14th.
	duckQuery := fmt.Sprintf(`SELECT column08 AS status, column13 AS result, count(*) FROM read_csv([%s],
		delim='\t', header=false, skip=2, all_varchar=true, compression='gzip', null_padding=true, auto_detect=false,
		columns={%s}) GROUP BY ALL`, strings.Join(globs, ","), duckColumns(33))

	var tGunzip, tDuck, tGz, tParquet time.Duration
	var cGunzip, cDuck, cGz, cParquet time.Duration // CPU time
	var gzRows, pqRows, duckRows int64
	for b.Loop() {
		start, cpu := time.Now(), cpuTime()
		if n := gunzipAll(b, gzDir, c.Names); n < lines {
			b.Fatalf("gunzip counted %d lines, want at least %d", n, lines)
		}
		tGunzip += time.Since(start)
		cGunzip += cpuTime() - cpu

		start, cpu = time.Now(), cpuTime()
		rows, err := db.QueryContext(ctx, duckQuery)
		if err != nil {
			b.Fatal(err)
		}
		duckRows = 0
		for rows.Next() {
			var s, r sql.NullString
			var n int64
			if err := rows.Scan(&s, &r, &n); err != nil {
				b.Fatal(err)
			}
			duckRows += n
		}
		rows.Close()
		tDuck += time.Since(start)
		cDuck += cpuTime() - cpu

		start, cpu = time.Now(), cpuTime()
		a := newAggregator(b, c)
		src, err := dirsource.New(filepath.Join(gzDir, "*.gz"), "")
		if err != nil {
			b.Fatal(err)
		}
		sum, err := ingest.Run(ctx, ingest.DefaultOptions(), []ingest.Source{src}, a)
		if err != nil {
			b.Fatal(err)
		}
		res := a.Result()
		tGz += time.Since(start)
		cGz += cpuTime() - cpu
		gzRows = sum.Rows
		if res.Input.Analyzed != lines {
			b.Fatalf("analysed %d rows from .gz, want %d", res.Input.Analyzed, lines)
		}

		start, cpu = time.Now(), cpuTime()
		a = newAggregator(b, c)
		st, err := dataset.NewDirStore(dsDir)
		if err != nil {
			b.Fatal(err)
		}
		counts, err := dataset.ReadParallel(ctx, st, dataset.ReadOptions{Columns: a.Columns()}, runtime.GOMAXPROCS(0), a)
		if err != nil {
			b.Fatal(err)
		}
		pqRows = counts.Rows
		res = a.Result()
		tParquet += time.Since(start)
		cParquet += cpuTime() - cpu
		if res.Input.Analyzed != lines {
			b.Fatalf("analysed %d rows from Parquet, want %d", res.Input.Analyzed, lines)
		}
	}
	if duckRows != lines || gzRows != lines || pqRows != lines {
		b.Fatalf("rows: duckdb %d, gz %d, parquet %d; want %d", duckRows, gzRows, pqRows, lines)
	}
	per := func(d time.Duration) float64 { return float64(lines) * float64(b.N) / d.Seconds() }
	b.ReportMetric(per(tGunzip), "gunzip-lines/s")
	b.ReportMetric(per(tDuck), "duckdb-lines/s")
	b.ReportMetric(per(tGz), "gz-lines/s")
	b.ReportMetric(per(tParquet), "parquet-rows/s")
	b.ReportMetric(per(tGz)/per(tGunzip), "gz/gunzip")
	b.ReportMetric(per(tGz)/per(tDuck), "gz/duckdb")
	b.ReportMetric(per(tParquet)/per(tGz), "parquet/gz")
	// Lines per CPU-second hold better than wall-clock rates on a shared
	// machine; the process's CPU time includes DuckDB's threads.
	b.ReportMetric(per(cGunzip), "gunzip-lines/cpu-s")
	b.ReportMetric(per(cDuck), "duckdb-lines/cpu-s")
	b.ReportMetric(per(cGz), "gz-lines/cpu-s")
	b.ReportMetric(per(cParquet), "parquet-rows/cpu-s")
}

// cpuTime returns the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func duckColumns(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("'column%02d': 'VARCHAR'", i)
	}
	return strings.Join(parts, ", ")
}
