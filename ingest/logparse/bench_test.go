package logparse

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/cflens/cflens/ingest/inflate"
	"github.com/cflens/cflens/ingest/schema"
)

// benchText builds n realistic 33-field lines with a header.
func benchText(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString(hdr33)
	edges := []string{"FRA56-P1", "IAD89-C2", "NRT57-P3", "LHR61-C1", "SEA19-C1"}
	paths := []string{"/", "/index.html", "/assets/app.4f3c2a.js", "/assets/site.css", "/img/logo.png", "/api/v1/items", "/missing/page", "/docs/getting-started"}
	uas := []string{
		"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.0.0%20Safari/537.36",
		"Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_1%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.1%20Mobile/15E148%20Safari/604.1",
		"curl/8.4.0",
	}
	results := []string{"Hit", "Miss", "RefreshHit", "Error"}
	for i := 0; i < n; i++ {
		r := results[rng.IntN(len(results))]
		status := "200"
		if r == "Error" {
			status = []string{"404", "500", "502"}[rng.IntN(3)]
		}
		fmt.Fprintf(&b, "2025-09-10\t%02d:%02d:%02d\t%s\t%d\t198.51.100.%d\tGET\td1234abcd.cloudfront.net\t%s\t%s\t-\t%s\t-\t-\t%s\t%016xEXAMPLE==\twww.example.com\thttps\t%d\t%.3f\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t%s\tHTTP/2.0\t-\t-\t%d\t%.3f\t%s\ttext/html\t%d\t-\t-\n",
			rng.IntN(24), rng.IntN(60), rng.IntN(60), edges[rng.IntN(len(edges))], 200+rng.IntN(50000), rng.IntN(255),
			paths[rng.IntN(len(paths))], status, uas[rng.IntN(len(uas))], r, rng.Uint64(), 100+rng.IntN(900),
			rng.Float64(), r, 1024+rng.IntN(60000), rng.Float64()/2, r, rng.IntN(90000))
	}
	return b.Bytes()
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// BenchmarkParse measures lines/s from gzip to Arrow batches, all columns
// and the analyzer's projection, against gzip inflation alone.
func BenchmarkParse(b *testing.B) {
	const lines = 100_000
	gz := gzipBytes(benchText(lines))
	b.Run("gunzip-only", func(b *testing.B) {
		b.SetBytes(int64(len(gz)))
		for b.Loop() {
			rc, _ := inflate.Decompress(bytes.NewReader(gz), 0)
			io.Copy(io.Discard, rc)
		}
		b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	for _, bc := range []struct {
		name string
		cols []int
	}{
		{"all-columns", nil},
		{"analyzer-columns", []int{schema.Timestamp_, schema.DistributionID, schema.Role, schema.ScStatus, schema.CsURIStem, schema.EdgeResultType, schema.EdgeResponseResultType, schema.EdgeDetailedResultType}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(gz)))
			for b.Loop() {
				rc, _ := inflate.Decompress(bytes.NewReader(gz), 0)
				opts := []Option{WithDistribution("E1EXAMPLE", "production"), WithSource("bench.gz")}
				if bc.cols != nil {
					opts = append(opts, WithColumns(bc.cols))
				}
				r := NewReader(rc, opts...)
				for r.Next() {
				}
				if r.Err() != nil || r.Stats().Rows != lines {
					b.Fatalf("err %v rows %d", r.Err(), r.Stats().Rows)
				}
				r.Release()
			}
			b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
	b.Run("strings-split-baseline", func(b *testing.B) {
		// The naive parser: split every line, convert nothing.
		b.SetBytes(int64(len(gz)))
		for b.Loop() {
			rc, _ := inflate.Decompress(bytes.NewReader(gz), 0)
			text, _ := io.ReadAll(rc)
			n := 0
			for _, line := range strings.Split(string(text), "\n") {
				if len(line) > 0 && line[0] != '#' {
					n += len(strings.Split(line, "\t"))
				}
			}
			_ = n
		}
		b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
	})
}

// BenchmarkParseAllCores runs one parser per core (GOMAXPROCS goroutines,
// each on its own copy of the input), as the pipeline does with one object
// per worker: lines/s over all cores, gunzip alone as the ceiling.
func BenchmarkParseAllCores(b *testing.B) {
	lines := 100_000
	if testing.Short() {
		lines = 5_000
	}
	gz := gzipBytes(benchText(lines))
	for _, bc := range []struct {
		name  string
		parse bool
		cols  []int
	}{
		{"gunzip-only", false, nil},
		{"all-columns", true, nil},
		{"analyzer-columns", true, []int{schema.Timestamp_, schema.DistributionID, schema.Role, schema.ScStatus, schema.CsURIStem, schema.EdgeResultType, schema.EdgeResponseResultType, schema.EdgeDetailedResultType}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(gz)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rc, _ := inflate.Decompress(bytes.NewReader(gz), 0)
					if !bc.parse {
						io.Copy(io.Discard, rc)
						continue
					}
					opts := []Option{WithDistribution("E1EXAMPLE", "production"), WithSource("bench.gz")}
					if bc.cols != nil {
						opts = append(opts, WithColumns(bc.cols))
					}
					r := NewReader(rc, opts...)
					for r.Next() {
					}
					r.Release()
				}
			})
			b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
