package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
)

// TestDemoEndToEnd runs the demo at small scale: logs generated, served
// by the in-process S3 endpoint, ingested through the S3 source into the
// Parquet dataset, analyzed, and reported. Every output must exist and
// parse, and the measured rates must agree with the generated ones.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end demo")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := runDemo(context.Background(), &demoOptions{out: out, seed: 7, scale: "small"}, &IOStreams{Out: &stdout, Err: &stderr, Now: time.Now})
	if err != nil {
		t.Fatalf("demo: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	text := stdout.String()
	for _, want := range []string{"Generated versus measured", "inside", "Next steps with real logs", "cflens athena ddl"} {
		if !strings.Contains(text, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	// runDemo fails when a measured rate falls outside its interval or a
	// count differs from the generated one; err == nil says they agree.

	// The analysis JSON parses and holds the contract's parts.
	b, err := os.ReadFile(filepath.Join(out, "analysis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res analyze.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("analysis.json: %v", err)
	}
	if res.Schema != analyze.SchemaVersion || len(res.Windows) != 4 || len(res.Cells) != 8 || len(res.Findings) == 0 {
		t.Errorf("analysis: schema %q, %d windows, %d cells, %d findings", res.Schema, len(res.Windows), len(res.Cells), len(res.Findings))
	}
	// Every 500 is on an error path, as generated.
	for _, c := range res.Cells {
		if c.GoodPath500 != 0 {
			t.Errorf("window %d %s: %d 500s on good paths", c.Window, c.Role, c.GoodPath500)
		}
	}

	// The ingest summary says the run was complete and balanced.
	b, err = os.ReadFile(filepath.Join(out, "ingest-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum ingest.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || !sum.Balanced() || sum.Rows == 0 || sum.RejectedLines != 0 || len(sum.Distributions) != 2 {
		t.Errorf("ingest summary: %+v", sum)
	}
	if res.Input.Rows != sum.Rows {
		t.Errorf("analysis read %d rows from the dataset, ingest wrote %d", res.Input.Rows, sum.Rows)
	}

	// The other reports exist and look like what they claim to be.
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !bytes.Contains(html, []byte("<svg")) || !bytes.Contains(html, []byte("Content-Security-Policy")) {
		t.Errorf("report.html: %v, %d bytes", err, len(html))
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("|")) {
		t.Errorf("report.md: %v", err)
	}
	csvs, _ := filepath.Glob(filepath.Join(out, "csv", "*.csv"))
	if len(csvs) == 0 {
		t.Fatal("no CSV tables")
	}
	for _, p := range csvs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows) == 0 {
			t.Errorf("%s: %v, %d rows", p, err, len(rows))
		}
	}
	parquet, _ := filepath.Glob(filepath.Join(out, "dataset", "distributionid=*", "year=*", "month=*", "day=*", "hour=*", "*.parquet"))
	if len(parquet) == 0 {
		t.Error("no Parquet files in the dataset layout")
	}
}
