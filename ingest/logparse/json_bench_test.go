package logparse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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

// BenchmarkJSONvsW3C measures lines/s of the JSON-lines reader against
// the W3C reader on the same records (33 fields, gzip), all columns.
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
				rc, _ := Decompress(bytes.NewReader(in.gz), 0)
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
}
