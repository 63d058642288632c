package analyze_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/logparse"
)

// TestRealSamples runs real log files (see testdata/README.md) through the
// parser, projected to the aggregator's columns, and checks the counts.
func TestRealSamples(t *testing.T) {
	tests := []struct {
		name, file string
		role       string
		wantStatus map[string]int64
		wantErrReq int64
		want5xx    int64
		wantErrors int64 // error paths
	}{
		{
			// AWS's example: /index.html answered 200; / and /favicon.ico
			// only ever 502 (Error, OriginDnsError).
			name: "aws 33 fields", file: "awsdocs_33fields.log", role: "production",
			wantStatus: map[string]int64{"200": 3, "502": 3}, wantErrReq: 3, want5xx: 3, wantErrors: 2,
		},
		{
			name: "24 fields", file: "claygregory_web-1-0_24fields.log", role: "staging",
			wantStatus: map[string]int64{"200": 1, "304": 1}, wantErrReq: 0, want5xx: 0, wantErrors: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			a, err := analyze.NewAggregator(analyze.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ref := ingest.ObjectRef{Key: tt.file, DistributionID: "EEXAMPLE", Role: tt.role}
			obj, err := a.Begin(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			r := logparse.NewReader(f, logparse.WithColumns(a.Columns()), logparse.WithAllocator(mem),
				logparse.WithDistribution(ref.DistributionID, ref.Role), logparse.WithSource(ref.Key))
			for r.Next() {
				if err := obj.Write(r.Batch()); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			r.Release()
			if err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
			res := a.Result()
			if len(res.Windows) != 1 || len(res.Cells) != 2 {
				t.Fatalf("%d windows, %d cells; want 1 and 2", len(res.Windows), len(res.Cells))
			}
			var c analyze.Cell
			for _, x := range res.Cells {
				if x.Role == tt.role {
					c = x
				}
			}
			if d := cmp.Diff(tt.wantStatus, c.Status); d != "" {
				t.Errorf("status (-want +got):\n%s", d)
			}
			if c.ErrorPathRequests != tt.wantErrReq || c.Status5xx != tt.want5xx || res.ErrorPaths.Error != tt.wantErrors {
				t.Errorf("error-path requests %d, 5xx %d, error paths %d; want %d, %d, %d",
					c.ErrorPathRequests, c.Status5xx, res.ErrorPaths.Error, tt.wantErrReq, tt.want5xx, tt.wantErrors)
			}
			if tt.wantErrReq > 0 && c.Rate5xx != 1 {
				t.Errorf("5xx rate on error paths = %v, want 1", c.Rate5xx)
			}
			if res.Range.From.IsZero() || res.Range.From.Location() != time.UTC {
				t.Errorf("range = %v", res.Range)
			}
		})
	}
}
