package logparse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/inflate"
)

// FuzzReader feeds arbitrary text to the parser: it must never panic,
// never leak Arrow memory, and always account for every line.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "samples", "*.log"))
	own, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	files = append(files, own...)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(hdr33 + line33(map[int]string{9: "000"}) + "\t\n"))
	f.Add([]byte("#Fields: timestamp(ms) sc-status\n1731699951183\t200\n"))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Add([]byte("#Fields: date time sc-status cs(User-Agent)\n2025-01-01;10:00:00;200;a, b|c\n2025-01-01,10:00:00,200,x\n"))
	f.Add([]byte("#Fields: date time sc-status sc-status\n2025-01-01\t10:00:00\t200\t500\n#Fields: date|time\n2025-01-01|10:00:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rc, err := inflate.Decompress(bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		r := NewReader(rc, WithAllocator(mem), WithBatchRows(7), WithMaxLineBytes(4096))
		var rows int64
		for r.Next() {
			b := r.Batch()
			for i, c := range b.Columns() {
				if c.Len() != int(b.NumRows()) {
					t.Fatalf("column %d has %d values, batch %d rows", i, c.Len(), b.NumRows())
				}
				if err := c.Data().Buffers(); err == nil {
					t.Fatalf("column %d has no buffers", i)
				}
			}
			rows += b.NumRows()
		}
		st := r.Stats()
		r.Release()
		if r.Err() == nil && rows != st.Rows {
			t.Fatalf("%d rows in batches, stats say %d", rows, st.Rows)
		}
		if st.Lines != st.HeaderLines+st.Rows+st.Rejected+st.OutOfRange {
			t.Fatalf("unbalanced: %+v", st)
		}
	})
}

// FuzzNumbers checks the fast number parsers against strconv.
func FuzzNumbers(f *testing.F) {
	for _, s := range []string{"0.001", "-1", "000", "12.5", "1e5", "9999999999999999999", "-", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := parseFloat([]byte(s)); ok {
			w, ok2 := slowFloat([]byte(s))
			if !ok2 || v != w {
				t.Fatalf("parseFloat(%q) = %v, strconv says %v %v", s, v, w, ok2)
			}
		}
	})
}
