package logparse

import (
	"bytes"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/loggen"
)

// FuzzParquetReader feeds damaged Parquet files to the reader: it must
// fail with an error wrapping ErrCorrupt or read rows, never panic, not
// leak Arrow memory once open, and account for every row it reads.
func FuzzParquetReader(f *testing.F) {
	for _, fields := range [][]string{{"date", "time", "sc-status", "cs-uri-stem"}, {loggen.FieldTimestampMS, "sc-bytes", "time-taken"}} {
		m := &memFiles{data: map[string]*bytes.Buffer{}}
		if _, err := loggen.Generate(f.Context(), v2Scenario(), loggen.Output{Create: m.create, Format: loggen.V2Parquet, V2: loggen.V2Options{Fields: fields}}); err != nil {
			f.Fatal(err)
		}
		f.Add(m.data[m.names[0]].Bytes())
	}
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		p, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), WithAllocator(mem), WithBatchRows(5))
		if err != nil {
			// arrow-go leaves a few buffers allocated when some damaged
			// footers fail (e.g. an unset codec); the Go allocator
			// reclaims them, so only a reader that opened is checked.
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		defer mem.AssertSize(t, 0)
		var rows int64
		for p.Next() {
			rows += p.Batch().NumRows()
		}
		if err := p.Err(); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		st := p.Stats()
		readErr := p.Err()
		p.Release()
		// After an error the object is abandoned whole (the pipeline
		// aborts it): rows parsed into a batch that was never delivered
		// are counted only when the read completes.
		if readErr == nil && rows != st.Rows {
			t.Fatalf("%d rows in batches, stats say %d", rows, st.Rows)
		}
		if st.Lines != st.Rows+st.Rejected+st.OutOfRange {
			t.Fatalf("unbalanced: %+v", st)
		}
	})
}
