package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
)

func runReportCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errw)
	root.SetIn(strings.NewReader(""))
	err = root.ExecuteContext(context.Background())
	return out.String(), errw.String(), err
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// TestReportMatchesAnalyze renders a saved analysis with 'cflens report'
// and checks that every format is byte for byte what 'cflens analyze'
// writes directly.
func TestReportMatchesAnalyze(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	dir := t.TempDir()
	common := []string{"analyze", logs, "--timeline", timeline, "--from", "2025-09-10", "--to", "2025-09-12"}
	saved := filepath.Join(dir, "analysis.json")
	if _, stderr, err := runReportCmd(t, append(common, "--out", saved)...); err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr)
	}
	tests := []struct {
		format, out string
	}{
		{"text", "a.txt"},
		{"markdown", "a.md"},
		{"json", "a.json"},
		{"html", "a.html"},
		{"csv", "csv"},
		{"", "b.html"}, // format from the extension
	}
	for _, tt := range tests {
		t.Run(tt.format+tt.out, func(t *testing.T) {
			direct := filepath.Join(dir, "direct-"+tt.out)
			rendered := filepath.Join(dir, "report-"+tt.out)
			args := append(append([]string(nil), common...), "--out", direct)
			rargs := []string{"report", "--in", saved, "--out", rendered}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
				rargs = append(rargs, "--format", tt.format)
			}
			if _, stderr, err := runReportCmd(t, args...); err != nil {
				t.Fatalf("analyze: %v\n%s", err, stderr)
			}
			if stdout, stderr, err := runReportCmd(t, rargs...); err != nil || stdout != "" {
				t.Fatalf("report: %v, stdout %q\n%s", err, stdout, stderr)
			}
			files := []string{""}
			if tt.format == "csv" {
				files = listDir(t, direct)
				if diff := cmp.Diff(len(report.CSVTables()), len(files)); diff != "" {
					t.Errorf("csv files %q, want one per table", files)
				}
				if diff := cmp.Diff(files, listDir(t, rendered)); diff != "" {
					t.Errorf("csv folders differ: %s", diff)
				}
			}
			for _, f := range files {
				a, err := os.ReadFile(filepath.Join(direct, f))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(rendered, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s %s: analyze and report outputs differ", tt.format, f)
				}
				if len(a) == 0 {
					t.Errorf("%s %s: empty", tt.format, f)
				}
			}
			if strings.HasSuffix(tt.out, ".html") {
				b, _ := os.ReadFile(direct)
				if !strings.Contains(string(b), `http-equiv="Content-Security-Policy"`) || !strings.Contains(string(b), "<svg") {
					t.Errorf("html without CSP or charts")
				}
			}
		})
	}
	// No temporary files are left behind.
	for _, f := range listDir(t, dir) {
		if strings.HasSuffix(f, ".tmp") {
			t.Errorf("temporary file left: %s", f)
		}
	}
}

func TestReportCSVTable(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	saved := filepath.Join(t.TempDir(), "analysis.json")
	if _, stderr, err := runReportCmd(t, "analyze", logs, "--timeline", timeline, "--format", "json", "--out", saved); err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr)
	}
	tests := []struct {
		name, table, wantHead string
	}{
		{"default cells", "", "window,role,requests,"},
		{"hours", "hours", "role,hour,requests,"},
		{"windows", "windows", "window,from,to,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"report", "--in", saved, "--format", "csv"}
			if tt.table != "" {
				args = append(args, "--table", tt.table)
			}
			stdout, stderr, err := runReportCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.HasPrefix(stdout, tt.wantHead) {
				t.Errorf("stdout starts %q, want %q", stdout[:min(40, len(stdout))], tt.wantHead)
			}
		})
	}
}

func TestReportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"other/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"schema":"`+analyze.SchemaVersion+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"report"}, "--in is required"},
		{"unknown format", []string{"report", "--in", good, "--format", "pdf"}, `unknown format "pdf"`},
		{"wrong schema", []string{"report", "--in", bad}, `schema "other/v9"`},
		{"unknown table", []string{"report", "--in", good, "--format", "csv", "--table", "nope"}, `unknown table "nope"`},
		{"table with folder", []string{"report", "--in", good, "--format", "csv", "--table", "hours", "--out", dir}, "--table hours with a folder"},
		{"analyze unknown format", []string{"analyze", dir, "--format", "pdf"}, `unknown format "pdf"`},
		{"every without range", []string{"analyze", dir, "--every", "24h", "--out", dir}, "--every needs --from and --to"},
		{"every without out", []string{"analyze", dir, "--every", "24h", "--from", "2025-09-10", "--to", "2025-09-11"}, "--every needs --out DIR"},
		{"every too fine", []string{"analyze", dir, "--every", "1s", "--from", "2025-09-10", "--to", "2025-09-11", "--out", dir}, "more than 10000 periods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runReportCmd(t, tt.args...)
			var uerr *usage.Error
			if !errors.As(err, &uerr) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestAnalyzeEvery(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	tests := []struct {
		name   string
		format []string
		want   []string
	}{
		{"html", nil, []string{"index.html", "index.md", "report-20250910T0000Z.html", "report-20250911T0000Z.html"}},
		{"markdown", []string{"--format", "markdown"}, []string{"index.html", "index.md", "report-20250910T0000Z.md", "report-20250911T0000Z.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "reports")
			args := append([]string{"analyze", logs, "--timeline", timeline, "--from", "2025-09-10", "--to", "2025-09-12",
				"--every", "24h", "--out", out}, tt.format...)
			stdout, stderr, err := runReportCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if diff := cmp.Diff(tt.want, listDir(t, out)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			index, err := os.ReadFile(filepath.Join(out, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(out, "index.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.want[2:] {
				if !strings.Contains(string(index), `href="`+name+`"`) {
					t.Errorf("index.html does not link %s", name)
				}
				if !strings.Contains(string(md), "]("+name+")") {
					t.Errorf("index.md does not link %s", name)
				}
			}
			// Each report covers its own day only.
			b, err := os.ReadFile(filepath.Join(out, tt.want[3]))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "2025-09-11 00:00Z – 2025-09-12 00:00Z") {
				t.Errorf("%s does not cover 2025-09-11", tt.want[3])
			}
		})
	}
}

func TestRunEveryIncomplete(t *testing.T) {
	// A failing period is listed in the index with its error; the others
	// are written, and the run reports ErrIncomplete.
	out := t.TempDir()
	from := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	run := func(ctx context.Context, f, to time.Time) (*analyze.Result, error) {
		if f.Equal(from) {
			return nil, errors.New("list s3://bucket/: access denied <b>")
		}
		return &analyze.Result{Schema: analyze.SchemaVersion, Range: analyze.Range{From: f, To: to}}, nil
	}
	err := runEvery(context.Background(), from, from.Add(48*time.Hour), 24*time.Hour, "html", out, run)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if diff := cmp.Diff([]string{"index.html", "index.md", "report-20250911T0000Z.html"}, listDir(t, out)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !strings.Contains(string(index), "access denied &lt;b&gt;") {
		t.Errorf("index.html does not show the escaped error")
	}
}
