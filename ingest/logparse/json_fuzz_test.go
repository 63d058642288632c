package logparse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzJSONReader feeds arbitrary text to the JSON-lines reader: it must
// never panic or leak Arrow memory, must account for every line, and must
// not call bad_json a line that encoding/json reads as one flat object.
func FuzzJSONReader(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "samples", "awsdocs_standard-logging-v2_firehose-json-example.jsonl")); err == nil {
		f.Add(b)
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	for _, s := range []string{
		`{"date":"2025-09-10","time":"08:15:30","sc-status":"000","x-forwarded-for":"1.2.3.4,\\x2010.0.0.1"}`,
		`{"timestamp(ms)":1731699951183,"sc-bytes":12,"cs(Referer)":null,"fle-status":false}`,
		`{"timestamp":"1731699951.183","cs(User-Agent)":"caf\u00e9 \ud83d\ude00 \ud800"}`,
		`{"date":"2025-09-10","time":"08:15:30","cs-uri-stem":"a\u0000b"}`,
		`{"a":{"b":1}}`, `[1,2]`, `{}`, ` { "date" : "2025-01-01" } `, `{"date":"2025-09-10`, "#Fields: date time\n",
		"{\"date\":\"2025-09-10\",\"time\":\"08:15:30\"}\r\n\n{\"x\":\"\xff\"}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		r := NewJSONReader(bytes.NewReader(data), WithAllocator(mem), WithBatchRows(3), WithMaxLineBytes(4096))
		var rows int64
		for r.Next() {
			b := r.Batch()
			for i, c := range b.Columns() {
				if c.Len() != int(b.NumRows()) {
					t.Fatalf("column %d has %d values, batch %d rows", i, c.Len(), b.NumRows())
				}
			}
			rows += b.NumRows()
		}
		st := r.Stats()
		r.Release()
		if err := r.Err(); err != nil {
			t.Fatalf("error on in-memory input: %v", err)
		}
		if rows != st.Rows {
			t.Fatalf("%d rows in batches, stats say %d", rows, st.Rows)
		}
		if st.Lines != st.HeaderLines+st.Rows+st.Rejected+st.OutOfRange || st.HeaderLines != 0 {
			t.Fatalf("unbalanced: %+v", st)
		}
		line := strings.TrimSuffix(string(data), "\n")
		if strings.ContainsAny(line, "\n") || len(line) > 4096 {
			return
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m == nil {
			return // not an object ("null" decodes to a nil map)
		}
		for _, v := range m {
			switch v.(type) {
			case map[string]any, []any:
				return // nested: rejected on purpose
			}
		}
		if st.RejectedBy[ReasonBadJSON] != 0 {
			t.Fatalf("encoding/json reads %q, the reader says bad_json: %+v", line, st.Samples)
		}
	})
}
