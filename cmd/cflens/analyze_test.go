package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/loggen"
)

func runAnalyzeCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"analyze"}, args...))
	root.SetOut(&out)
	root.SetErr(&errw)
	err = root.ExecuteContext(context.Background())
	return out.String(), errw.String(), err
}

// smallScenario writes two days of the motivating scenario and its
// timeline; it returns the log folder and the timeline file.
func smallScenario(t *testing.T) (logs, timeline string, sc *loggen.Scenario) {
	t.Helper()
	sc = loggen.DefaultScenario(0.1)
	sc.Hours = 48
	sc.Windows = sc.Windows[:2]
	sc.Peaks = sc.Peaks[:2]
	dir := t.TempDir()
	logs = filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := loggen.WriteDir(context.Background(), sc, logs); err != nil {
		t.Fatal(err)
	}
	timeline = filepath.Join(dir, "timeline.yaml")
	if err := os.WriteFile(timeline, sc.TimelineYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	return logs, timeline, sc
}

func TestAnalyzeJSON(t *testing.T) {
	logs, timeline, sc := smallScenario(t)
	out := filepath.Join(t.TempDir(), "analysis.json")
	stdout, stderr, err := runAnalyzeCmd(t, logs, "--timeline", timeline, "--format", "json", "--out", out,
		"--from", "2025-09-10", "--to", "2025-09-12", "--timezone", "Europe/Paris", "--settle", "2m")
	if err != nil {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing with --out", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res analyze.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Schema != analyze.SchemaVersion || res.Timezone != "Europe/Paris" || res.SettleSeconds != 120 {
		t.Errorf("schema %q, time zone %q, settle %v", res.Schema, res.Timezone, res.SettleSeconds)
	}
	if len(res.Windows) != 2 || len(res.Cells) != 4 {
		t.Errorf("%d windows and %d cells, want 2 and 4", len(res.Windows), len(res.Cells))
	}
	if res.Distributions.Production != sc.Distributions.Production.ID {
		t.Errorf("production = %q, want the timeline's %q", res.Distributions.Production, sc.Distributions.Production.ID)
	}
	if res.Input.Analyzed == 0 || res.Input.Objects == 0 || res.Input.UnknownRole != 0 {
		t.Errorf("input = %+v", res.Input)
	}
	if len(res.PeakHours.Hours) != 6 {
		t.Errorf("%d peak hours, want 6", len(res.PeakHours.Hours))
	}
}

func TestAnalyzeText(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	stdout, stderr, err := runAnalyzeCmd(t, logs, "--timeline", timeline, "--log-format", "w3c")
	if err != nil {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
	}
	for _, want := range []string{"cflens analysis (cflens.analysis/v1)", "CONFIGURATION MATRIX", "FINDINGS", ". 500s occur only on error paths", "PEAK HOURS"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestAnalyzeUsage(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("changes:\n  - at: 2025-09-10T00:00:00Z\n    role: prod\n    custom_error_responses: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad timeline", []string{logs, "--timeline", bad}, bad + `:3: unknown role "prod"`},
		{"bad format", []string{logs, "--timeline", timeline, "--format", "xml"}, `unknown format "xml"`},
		{"bad time zone", []string{logs, "--timeline", timeline, "--timezone", "Mars/Olympus"}, "--timezone"},
		{"bad regex", []string{logs, "--timeline", timeline, "--error-path", "("}, "--error-path"},
		{"dataset and logs", []string{logs, "--timeline", timeline, "--dataset", logs}, "--dataset cannot be combined"},
		{"negative settle", []string{logs, "--timeline", timeline, "--settle", "-1m"}, "--settle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runAnalyzeCmd(t, tt.args...)
			var uerr *usage.Error
			if !errors.As(err, &uerr) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestAnalyzeDatasetMatchesLogs analyzes the same logs straight from the
// .gz files and from a Parquet dataset written from them: the results
// agree.
func TestAnalyzeDatasetMatchesLogs(t *testing.T) {
	logs, timeline, sc := smallScenario(t)
	dsDir := filepath.Join(t.TempDir(), "dataset")
	if err := os.Mkdir(dsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	datasettest.Ingest(t, dsDir, logs)
	run := func(args ...string) analyze.Result {
		t.Helper()
		stdout, stderr, err := runAnalyzeCmd(t, append(args, "--timeline", timeline, "--format", "json", "--from", "2025-09-10T06", "--to", "2025-09-11T20")...)
		if err != nil {
			t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
		}
		var res analyze.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	fromLogs := run(logs)
	fromDataset := run("--dataset", dsDir, "--production", sc.Distributions.Production.ID, "--staging", sc.Distributions.Staging.ID)
	if fromLogs.Input.Analyzed == 0 || fromLogs.Input.Analyzed != fromDataset.Input.Analyzed {
		t.Errorf("analysed %d rows from logs, %d from the dataset", fromLogs.Input.Analyzed, fromDataset.Input.Analyzed)
	}
	if d := cmp.Diff(fromLogs.Cells, fromDataset.Cells); d != "" {
		t.Errorf("cells (-logs +dataset):\n%s", d)
	}
	if d := cmp.Diff(fromLogs.Findings, fromDataset.Findings); d != "" {
		t.Errorf("findings (-logs +dataset):\n%s", d)
	}
}
