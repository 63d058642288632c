package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
)

// TestAnalyzeNoSilentEmptyAnswer: an analysis that finds no row of the
// given distributions fails with what it found instead; without
// --production and --staging it lists the distribution IDs and is a
// usage error.
func TestAnalyzeNoSilentEmptyAnswer(t *testing.T) {
	logs, timeline, sc := smallScenario(t)
	prod, stg := sc.Distributions.Production.ID, sc.Distributions.Staging.ID

	_, _, err := runAnalyzeCmd(t, logs)
	var uerr *usage.Error
	if !errors.As(err, &uerr) {
		t.Fatalf("no roles: err = %v, want a usage error", err)
	}
	for _, want := range []string{prod + " (", stg + " (", "rows"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no roles: %q lacks %q", err, want)
		}
	}

	_, _, err = runAnalyzeCmd(t, logs, "--production", "EAAAAAAAAA", "--staging", "EBBBBBBBBB")
	if !errors.Is(err, ingest.ErrIncomplete) || errors.As(err, &uerr) {
		t.Fatalf("other distributions: err = %v, want incomplete (exit 3)", err)
	}
	for _, want := range []string{prod + " (", "production (EAAAAAAAAA)", "pass --production and --staging"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("other distributions: %q lacks %q", err, want)
		}
	}

	_, _, err = runAnalyzeCmd(t, logs, "--timeline", timeline, "--from", "2026-01-01", "--to", "2026-01-02")
	if !errors.Is(err, ingest.ErrIncomplete) || !strings.Contains(err.Error(), "0 objects") {
		t.Errorf("range without logs: err = %v, want incomplete with 0 objects", err)
	}
}

// TestAnalyzeSymlinkedFolderAndOutOfRange: a folder given as a link is
// read, and the rows outside --from/--to are counted in the result.
func TestAnalyzeSymlinkedFolderAndOutOfRange(t *testing.T) {
	logs, timeline, _ := smallScenario(t)
	link := filepath.Join(t.TempDir(), "logs-link")
	if err := os.Symlink(logs, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	stdout, stderr, err := runAnalyzeCmd(t, link, "--timeline", timeline, "--format", "json",
		"--from", "2025-09-10T12:00:00Z", "--to", "2025-09-11T12:00:00Z")
	if err != nil {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
	}
	var res analyze.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Input.Analyzed == 0 || res.Input.OutOfRange == 0 {
		t.Errorf("input = %+v, want rows analysed and rows out of range (the files of the hours at the edges hold both)", res.Input)
	}
	if res.Input.Rows != res.Input.Analyzed+res.Input.OutOfRange+res.Input.Settling+res.Input.UnknownRole {
		t.Errorf("input rows do not add up: %+v", res.Input)
	}
}

// TestAnalyzeMissingDataset: a --dataset folder that does not exist (a
// mistyped path) is an error naming it, not an empty dataset, and
// reading it creates nothing; a file is no dataset either.
func TestAnalyzeMissingDataset(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dataset")
	_, _, err := runAnalyzeCmd(t, "--dataset", missing, "--production", "E1EXAMPLE", "--staging", "E2EXAMPLE")
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing dataset: err = %v, want one naming %s as not existing", err, missing)
	}
	if errors.Is(err, ingest.ErrIncomplete) {
		t.Errorf("missing dataset: err = %v, an incomplete run (exit 3) rather than an error", err)
	}
	if _, serr := os.Stat(missing); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("reading the missing dataset created it (stat: %v)", serr)
	}

	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runAnalyzeCmd(t, "--dataset", file, "--production", "E1EXAMPLE", "--staging", "E2EXAMPLE")
	if err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file as dataset: err = %v, want one saying it is not a folder", err)
	}
}
