package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// treeFiles lists every file and folder under root, relative to it.
func treeFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// outsideOf lists what exists under sandbox outside its "ds" folder.
func outsideOf(t *testing.T, sandbox string) []string {
	var out []string
	for _, p := range treeFiles(t, sandbox) {
		if p != "ds" && !strings.HasPrefix(p, "ds/") {
			out = append(out, p)
		}
	}
	return out
}

// TestHostileKeysStayInside ingests v2 log folders whose DistributionId
// value holds "..", "." or backslashes (names that S3 keys and Linux
// folders allow) beside ordinary log files. Nothing may be written
// outside the dataset folder, and the ordinary objects are ingested.
func TestHostileKeysStayInside(t *testing.T) {
	sandbox := t.TempDir()
	logs := writeScenario(t, 2, 0.2)
	names, _ := filepath.Glob(filepath.Join(logs, "*.gz"))
	sort.Strings(names)
	body, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{`DistributionId=..`, `DistributionId=.`, `DistributionId=..\..\..\escaped`, `DistributionId=E1\..\..\escaped`} {
		dir := filepath.Join(logs, "v2", id, "year=2025", "month=09", "day=10", "hour=00")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "part-"+string(rune('a'+i))+".gz"), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logsBefore := treeFiles(t, logs)
	out := filepath.Join(sandbox, "ds")
	code, _, stderr := runCLIChild(t, nil, "ingest", logs, "--out", out)
	t.Logf("ingest exit %d:\n%s", code, stderr)
	if o := outsideOf(t, sandbox); len(o) > 0 {
		t.Errorf("written outside the dataset: %q", o)
	}
	if got := treeFiles(t, logs); strings.Join(got, "\n") != strings.Join(logsBefore, "\n") {
		t.Errorf("the log folder changed: %q", got)
	}
	got := sourceRows(readDatasetView(t, out))
	for _, n := range names {
		if got[filepath.Base(n)] == 0 {
			t.Errorf("ordinary object %s not ingested (exit %d)\n%s", filepath.Base(n), code, stderr)
		}
	}
}

// TestHostileJournalStaysInside opens a dataset whose journal names
// files outside it ("../" paths, absolute paths, backslashes) as added,
// removed, and pending: `cflens ingest` and `cflens analyze --dataset`
// must neither delete nor read nor write anything outside.
func TestHostileJournalStaysInside(t *testing.T) {
	sandbox := t.TempDir()
	logs := writeScenario(t, 2, 0.2)
	victim := filepath.Join(sandbox, "victim.parquet")
	if err := os.WriteFile(victim, []byte("not to be touched"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(sandbox, "ds")
	journal := filepath.Join(out, "_cflens", "journal")
	if err := os.MkdirAll(journal, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]any{
		"00000000000000000001.json": map[string]any{"seq": 1, "objects": []any{},
			"added":   []any{map[string]any{"key": "../victim.parquet", "rows": 1}, map[string]any{"key": victim, "rows": 1}},
			"removed": []string{"../victim.parquet", victim, `..\victim.parquet`}},
		"00000000000000000002.pending.json": map[string]any{"seq": 2,
			"added": []string{"../victim.parquet", victim}, "removed": []string{"../victim.parquet"}},
	} {
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(filepath.Join(journal, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := outsideOf(t, sandbox)
	code, _, stderr := runCLIChild(t, nil, "ingest", logs, "--out", out)
	code2, stdout2, stderr2 := runCLIChild(t, nil, "analyze", "--dataset", out, "--format", "json")
	t.Logf("ingest exit %d: %s; analyze exit %d: %s", code, strings.TrimSpace(stderr), code2, strings.TrimSpace(stderr2))
	b, err := os.ReadFile(victim)
	if err != nil || string(b) != "not to be touched" {
		t.Errorf("victim beside the dataset changed or deleted: %q, %v", b, err)
	}
	if after := outsideOf(t, sandbox); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("outside the dataset: %q, want %q", after, before)
	}
	if strings.Contains(stdout2, "not to be touched") {
		t.Errorf("analyze read the file outside the dataset")
	}
}
