package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cflens/cflens/ingest/loggen"
)

// writePipeDelimited writes a short scenario as standard logging v2 W3C
// objects with the | delimiter under a new folder and returns it.
func writePipeDelimited(t *testing.T) (string, loggen.Roles[loggen.Distribution]) {
	t.Helper()
	sc := loggen.DefaultScenario(0.05)
	sc.Hours = 2
	sc.Windows = sc.Windows[3:4]
	sc.Windows[0].Start = sc.Start
	sc.Peaks = nil
	dir := filepath.Join(t.TempDir(), "logs")
	out := loggen.Output{Create: loggen.DirCreate(dir), Format: loggen.V2W3C, V2: loggen.V2Options{Delimiter: '|'}}
	if _, err := loggen.Generate(context.Background(), sc, out); err != nil {
		t.Fatal(err)
	}
	return dir, sc.Distributions
}

// TestIngestPipeDelimited: v2 W3C objects delimited by | read with no
// rejected line, whether the delimiter is detected or given; a wrong
// --delimiter rejects the lines (exit 3) and a bad one is a usage error.
func TestIngestPipeDelimited(t *testing.T) {
	dir, ids := writePipeDelimited(t)
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{name: "detected", args: []string{"ingest", dir}, want: " 0 rejected"},
		{name: "given", args: []string{"ingest", "--delimiter", "|", dir}, want: " 0 rejected"},
		{name: "analyze detects it too", args: []string{"analyze", "-v", "--format", "json", "--production", ids.Production.ID, "--staging", ids.Staging.ID, dir}, want: " 0 rejected"},
		{name: "a wrong one rejects the lines", args: []string{"ingest", "--delimiter", ";", dir}, code: 3, want: "rejected field_count"},
		{name: "not one character", args: []string{"ingest", "--delimiter", "||", dir}, code: 2, want: "--delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLIChild(t, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if tt.code == 0 && strings.Contains(stderr, " 0 lines") {
				t.Errorf("nothing read:\n%s", stderr)
			}
		})
	}
}

// TestIngestOutInsideSource: a dataset written inside the folder it is
// ingested from is never read back as logs: three runs leave the same
// rows, and the runs say which folder they skip.
func TestIngestOutInsideSource(t *testing.T) {
	logs := writeScenario(t, 2, 0.05)
	ds := filepath.Join(logs, "ds")
	var rows []int
	for run := range 3 {
		sum, stderr, err := ingestCLI(t, logs, "--out", ds)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, stderr)
		}
		if run > 0 && !strings.Contains(stderr, "skipping a cflens dataset") || run > 0 && !strings.Contains(stderr, filepath.ToSlash(ds)) {
			t.Errorf("run %d does not say it skips %s:\n%s", run+1, ds, stderr)
		}
		if sum.RejectedLines != 0 {
			t.Errorf("run %d rejected %d lines", run+1, sum.RejectedLines)
		}
		v := readDatasetView(t, ds)
		if len(v.dups) != 0 {
			t.Fatalf("run %d: rows seen twice: %v", run+1, v.dups[:min(5, len(v.dups))])
		}
		rows = append(rows, len(v.rows))
	}
	if rows[0] == 0 || rows[1] != rows[0] || rows[2] != rows[0] {
		t.Errorf("rows after each run %v, want the same non-zero count", rows)
	}
}

// TestUnknownFieldsListedCapped: a header of thousands of made-up names
// prints a bounded list and a count of the rest.
func TestUnknownFieldsListedCapped(t *testing.T) {
	const unknown = 10000
	var hdr, line strings.Builder
	hdr.WriteString("#Version: 1.0\n#Fields: date time sc-status cs-uri-stem")
	line.WriteString("2025-09-10\t08:00:00\t200\t/")
	for i := range unknown {
		fmt.Fprintf(&hdr, " x-made-up-%d", i)
		line.WriteString("\t-")
	}
	dir := t.TempDir()
	text := hdr.String() + "\n" + line.String() + "\n"
	if err := os.WriteFile(filepath.Join(dir, "E1EXAMPLE.2025-09-10-08.a"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, stderr, err := ingestCLI(t, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if sum.Rows != 1 || len(sum.UnknownFields) > 20 || sum.UnknownFieldsOmitted != unknown-int64(len(sum.UnknownFields)) {
		t.Errorf("rows %d, %d unknown fields listed, %d omitted", sum.Rows, len(sum.UnknownFields), sum.UnknownFieldsOmitted)
	}
	if n := strings.Count(stderr, "unknown field \""); n > 20 {
		t.Errorf("%d unknown-field lines printed", n)
	}
	if want := fmt.Sprintf("%d more unknown field names", sum.UnknownFieldsOmitted); !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if n := bytes.Count([]byte(stderr), []byte("\n")); n > 40 {
		t.Errorf("%d lines of output for one object", n)
	}
}

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in      string
		want    byte
		wantErr bool
	}{
		{in: "auto", want: 0}, {in: "", want: 0}, {in: "tab", want: '\t'}, {in: `\t`, want: '\t'},
		{in: "TAB", want: '\t'}, {in: "space", want: ' '}, {in: "|", want: '|'}, {in: ";", want: ';'}, {in: ",", want: ','},
		{in: "#", wantErr: true}, {in: "||", wantErr: true}, {in: "\n", wantErr: true}, {in: "é", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseDelimiter(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDelimiter(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
