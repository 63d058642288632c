package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// readTree returns the contents of every file under dir (or of dir
// itself when it is a file), by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAnalysisDeterministic runs the same analysis with 1 and 32 workers,
// twice each, in every output format, and requires byte-identical output.
// It also ingests the logs with 1 and 32 workers and requires the same
// rows in the dataset.
func TestAnalysisDeterministic(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	formats := []struct{ format, out string }{
		{"json", "analysis.json"}, {"html", "report.html"}, {"markdown", "report.md"},
		{"text", "report.txt"}, {"csv", "csv"},
	}
	type runKey struct {
		workers, round int
	}
	outputs := map[string]map[runKey]map[string][]byte{}
	for _, workers := range []int{1, 32} {
		for round := range 2 {
			for _, f := range formats {
				out := filepath.Join(t.TempDir(), f.out)
				_, stderr, err := runAnalyzeCmd(t, logs, "--timeline", timeline, "--format", f.format, "--out", out,
					"--workers", fmt.Sprint(workers), "--timezone", "Europe/Paris", "--settle", "2m")
				if err != nil {
					t.Fatalf("%s with %d workers: %v\n%s", f.format, workers, err, stderr)
				}
				if outputs[f.format] == nil {
					outputs[f.format] = map[runKey]map[string][]byte{}
				}
				outputs[f.format][runKey{workers, round}] = readTree(t, out)
			}
		}
	}
	for _, f := range formats {
		want := outputs[f.format][runKey{1, 0}]
		if len(want) == 0 {
			t.Fatalf("%s: no output", f.format)
		}
		for k, got := range outputs[f.format] {
			names := make([]string, 0, len(want))
			for n := range want {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(got) != len(want) {
				t.Errorf("%s, %d workers, run %d: %d files, want %d", f.format, k.workers, k.round+1, len(got), len(want))
			}
			for _, n := range names {
				if !bytes.Equal(got[n], want[n]) {
					t.Errorf("%s, %d workers, run %d: %s differs from the first run with 1 worker", f.format, k.workers, k.round+1, n)
				}
			}
		}
	}

	var views []*datasetView
	for _, workers := range []int{1, 32} {
		out := filepath.Join(t.TempDir(), "ds")
		if _, stderr, err := ingestCLI(t, logs, "--out", out, "--workers", fmt.Sprint(workers)); err != nil {
			t.Fatalf("ingest with %d workers: %v\n%s", workers, err, stderr)
		}
		views = append(views, readDatasetView(t, out))
	}
	if d := compareViews(views[0], views[1]); len(d) > 0 {
		t.Errorf("datasets ingested with 1 and 32 workers differ: %v", d)
	}
}
