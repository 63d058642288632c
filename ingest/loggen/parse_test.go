package loggen

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/logparse"
	"github.com/cflens/cflens/ingest/schema"
)

// TestParserReadsGeneratedLogs feeds every generated object, in each
// output format, to the project's parser (format detected from the
// content) and recounts the truth's cells from the Arrow rows: no line may
// be rejected, and the 500s must land where the truth says.
func TestParserReadsGeneratedLogs(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		opts   V2Options
		delim  byte
	}{
		{name: "legacy", format: Legacy},
		{name: "v2 w3c space-separated", format: V2W3C, opts: V2Options{Delimiter: ' '}, delim: ' '},
		{name: "v2 w3c pipe-delimited, detected", format: V2W3C, opts: V2Options{Delimiter: '|'}},
		{name: "v2 json", format: V2JSON},
		{name: "v2 parquet", format: V2Parquet},
	}
	// rowsOf holds each format's rows rendered as text, to compare them
	// with the legacy rows.
	rowsOf := map[string][]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sc := DefaultScenario(0.1)
			fs := newMemFS()
			tr, err := Generate(context.Background(), sc, Output{Create: fs.create, Format: tt.format, V2: tt.opts})
			if err != nil {
				t.Fatal(err)
			}
			errorPaths := map[string]bool{}
			for _, p := range sc.ErrorPaths {
				errorPaths[p.Path] = true
			}
			got := map[cellKey]cellCounts{}
			var rows int64
			for _, name := range fs.order {
				info, _ := ingest.ParseKey(name)
				role := "production"
				if info.DistributionID == sc.Distributions.Staging.ID {
					role = "staging"
				}
				opts := []logparse.Option{logparse.WithSource(name), logparse.WithDistribution(info.DistributionID, role), logparse.WithAllocator(mem), logparse.WithBatchRows(1024)}
				if tt.delim != 0 {
					opts = append(opts, logparse.WithDelimiter(tt.delim))
				}
				r, err := logparse.Open(bytes.NewReader(fs.files[name]), logparse.FormatAuto, opts...)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for r.Next() {
					b := r.Batch()
					ts := b.Column(schema.Timestamp_).(*array.Timestamp)
					status := b.Column(schema.ScStatus).(*array.Int32)
					stem := b.Column(schema.CsURIStem).(*array.String)
					ctype := b.Column(schema.ScContentType).(*array.Dictionary)
					ctypes := ctype.Dictionary().(*array.String)
					for i := range int(b.NumRows()) {
						rowsOf[tt.name] = append(rowsOf[tt.name], rowText(b, i))
						at := ts.Value(i).ToTime(arrow.Millisecond)
						w := 0
						for wi, win := range sc.Windows {
							if !at.Before(win.Start) {
								w = wi
							}
						}
						k := cellKey{window: w, role: role, peak: sc.IsPeak(at.Truncate(time.Hour))}
						c := got[k]
						c.Requests++
						switch {
						case errorPaths[stem.Value(i)]:
							c.ErrorPath++
							if status.Value(i) == 500 {
								c.Status500++
							} else if ctypes.Value(ctype.GetValueIndex(i)) == "text/html" {
								c.CustomErrorResponses++
							}
						case status.Value(i) == 0 && !status.IsNull(i):
							c.ClientAborts++
						}
						got[k] = c
					}
				}
				if err := r.Err(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				st := r.Stats()
				if st.Rejected != 0 || len(st.UnknownFields) != 0 {
					t.Errorf("%s: %d rejected %v, unknown fields %v", name, st.Rejected, st.RejectedBy, st.UnknownFields)
				}
				rows += st.Rows
				r.Release()
			}
			if rows != tr.Records {
				t.Errorf("parser read %d rows, truth says %d", rows, tr.Records)
			}
			want := map[cellKey]cellCounts{}
			for _, c := range tr.Cells {
				if c.Requests > 0 {
					want[cellKey{c.Window, c.Role, c.Peak}] = cellCounts{c.Requests, c.ErrorPath, c.Status500, c.CustomErrorResponses, c.ClientAborts}
				}
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(cellKey{})); diff != "" {
				t.Errorf("cells (-truth +parsed):\n%s", diff)
			}
			if tt.name == "legacy" {
				return
			}
			legacy, these := rowsOf["legacy"], rowsOf[tt.name]
			if len(legacy) != len(these) {
				t.Fatalf("%d rows, legacy gave %d", len(these), len(legacy))
			}
			for i := range these {
				if these[i] != legacy[i] {
					t.Fatalf("row %d differs from legacy:\nlegacy %s\n%-6s %s", i, legacy[i], "got", these[i])
				}
			}
		})
	}
}

// rowText renders row i of every column but source and line (object
// names and line numbers differ between formats).
func rowText(b arrow.RecordBatch, i int) string {
	var sb strings.Builder
	for c := range int(b.NumCols()) {
		if c == schema.Source || c == schema.Line {
			continue
		}
		fmt.Fprintf(&sb, "%s=%s ", b.ColumnName(c), b.Column(c).ValueStr(i))
	}
	return sb.String()
}
