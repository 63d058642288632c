package logparse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest/inflate"
)

// w3cToJSON rewrites W3C text (one #Fields header) as v2 JSON lines with
// the same fields and values.
func w3cToJSON(text []byte) []byte {
	var names []string
	var out bytes.Buffer
	for _, line := range bytes.Split(text, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte("#Fields:")) {
			names = strings.Fields(string(line[len("#Fields:"):]))
			continue
		}
		if line[0] == '#' {
			continue
		}
		out.WriteByte('{')
		for i, v := range bytes.Split(line, []byte("\t")) {
			if i > 0 {
				out.WriteByte(',')
			}
			k, _ := json.Marshal(names[i])
			s, _ := json.Marshal(string(v))
			out.Write(k)
			out.WriteByte(':')
			out.Write(s)
		}
		out.WriteString("}\n")
	}
	return out.Bytes()
}

// w3cToParquet rewrites W3C text (one #Fields header) as a v2 Parquet
// file of string columns, one row group per 64k rows, Snappy.
func w3cToParquet(tb testing.TB, text []byte) []byte {
	var names []string
	var rows [][]string
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "#Fields:"):
			names = strings.Fields(line[len("#Fields:"):])
		case line == "" || line[0] == '#':
		default:
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	fs := make([]arrow.Field, len(names))
	for i, n := range names {
		n = strings.NewReplacer("-", "_", "(", "_", ")", "").Replace(n)
		fs[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	sc := arrow.NewSchema(fs, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(64*1024)), pqarrow.DefaultWriterProps())
	if err != nil {
		tb.Fatal(err)
	}
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer bld.Release()
	for _, r := range rows {
		for i, v := range r {
			bld.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkJSONvsW3C measures lines/s of the JSON-lines reader against
// the W3C reader on the same records (33 fields, gzip), all columns, and
// of the Parquet reader on the same records as a v2 Parquet file.
func BenchmarkJSONvsW3C(b *testing.B) {
	const lines = 100_000
	w3c := benchText(lines)
	inputs := []struct {
		name string
		gz   []byte
		json bool
	}{
		{"w3c", gzipBytes(w3c), false},
		{"json", gzipBytes(w3cToJSON(w3c)), true},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.gz)))
			for b.Loop() {
				rc, _ := inflate.Decompress(bytes.NewReader(in.gz), 0)
				opts := []Option{WithDistribution("E1EXAMPLE", "production"), WithSource("bench.gz")}
				var r *Reader
				if in.json {
					r = NewJSONReader(rc, opts...)
				} else {
					r = NewReader(rc, opts...)
				}
				for r.Next() {
				}
				if r.Err() != nil || r.Stats().Rows != lines {
					b.Fatalf("err %v stats %+v", r.Err(), r.Stats().RejectedBy)
				}
				r.Release()
			}
			b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
	pq := w3cToParquet(b, w3c)
	b.Run("parquet", func(b *testing.B) {
		b.SetBytes(int64(len(pq)))
		for b.Loop() {
			r, err := NewParquetReader(bytes.NewReader(pq), int64(len(pq)), WithDistribution("E1EXAMPLE", "production"), WithSource("bench.parquet"))
			if err != nil {
				b.Fatal(err)
			}
			for r.Next() {
			}
			if r.Err() != nil || r.Stats().Rows != lines {
				b.Fatalf("err %v stats %+v", r.Err(), r.Stats().RejectedBy)
			}
			r.Release()
		}
		b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
	})
}
