package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cflens/cflens/ingest"
)

// sourceRows counts the rows of a dataset view per source object.
func sourceRows(v *datasetView) map[string]int64 {
	n := map[string]int64{}
	for k := range v.rows {
		src, _, _ := strings.Cut(k, "\x00")
		n[src]++
	}
	return n
}

// TestSignalStopsCleanly sends SIGINT or SIGTERM to a running `cflens
// ingest` at points of a run (after its first commit, after half its
// commits, at 70% of its usual time), and checks: the exit status is 3
// (incomplete) or 0 when the run had finished; the --summary file counts
// exactly the objects and rows that the dataset holds; every object in the
// dataset has all its rows (committed whole or not at all); and a rerun
// completes the dataset to that of an uninterrupted run. It fails unless
// a signal stopped a run that was still going.
func TestSignalStopsCleanly(t *testing.T) {
	logs := writeScenario(t, 12, 2)
	args := func(out, summary string) []string {
		return []string{"ingest", logs, "--out", out, "--workers", "4", "--checkpoint-bytes", "2000000", "--summary", summary}
	}
	tmp := t.TempDir()
	start := time.Now()
	if code, _, stderr := runCLIChild(t, nil, args(filepath.Join(tmp, "ref"), filepath.Join(tmp, "ref.json"))...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s", code, stderr)
	}
	took := time.Since(start)
	ref := readDatasetView(t, filepath.Join(tmp, "ref"))
	refBySource := sourceRows(ref)
	records := journalRecords(filepath.Join(tmp, "ref"))
	if records < 2 {
		t.Fatalf("the reference run wrote %d commit records; signals between commits need at least 2", records)
	}

	points := []interruptPoint{{records: 1}, {records: max(1, records/2)}, {delay: time.Duration(0.7 * float64(took))}}
	if testing.Short() {
		points = points[:1]
	}
	var interrupted int
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, pt := range points {
			name := fmt.Sprintf("%s %v", sig, pt)
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				out, summary := filepath.Join(dir, "ds"), filepath.Join(dir, "summary.json")
				cmd := cliCommand(context.Background(), args(out, summary)...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				done := startCLI(t, cmd)
				if waitPoint(pt, out, done) {
					cmd.Process.Signal(sig)
				}
				select {
				case <-done:
				case <-time.After(time.Minute):
					cmd.Process.Kill()
					<-done
					t.Fatalf("cflens did not stop within a minute of %s", sig)
				}
				code := cmd.ProcessState.ExitCode()
				if code != 3 && code != 0 {
					t.Fatalf("exit %d after %s, want 3 (or 0 when already done)\n%s", code, sig, stderr.String())
				}
				b, err := os.ReadFile(summary)
				if err != nil {
					t.Fatalf("no summary after %s: %v\n%s", sig, err, stderr.String())
				}
				var sum ingest.Summary
				if err := json.Unmarshal(b, &sum); err != nil {
					t.Fatal(err)
				}
				if code == 3 {
					interrupted++
					if sum.Complete || !strings.Contains(stderr.String(), "interrupted") {
						t.Errorf("summary complete=%v, stderr %q: the interruption is not reported", sum.Complete, stderr.String())
					}
				}
				if !sum.Balanced() || len(sum.Failed) > 0 {
					t.Errorf("summary unbalanced or with failures: %+v", sum.Counts)
				}
				got := readDatasetView(t, out)
				bySource := sourceRows(got)
				if int64(len(bySource)) != sum.Objects || int64(len(got.rows)) != sum.Rows || len(got.dups) > 0 {
					t.Errorf("dataset holds %d objects, %d rows (%d twice); summary says %d objects, %d rows",
						len(bySource), len(got.rows), len(got.dups), sum.Objects, sum.Rows)
				}
				for src, n := range bySource {
					if n != refBySource[src] {
						t.Errorf("object %s: %d of its %d rows in the dataset", src, n, refBySource[src])
					}
				}
				if l := leftovers(t, out); len(l) > 0 {
					t.Errorf("left over: %v", l)
				}
				// The rerun takes what is missing, and only that.
				code, _, errText := runCLIChild(t, nil, args(out, summary)...)
				if code != 0 {
					t.Fatalf("rerun exit %d\n%s", code, errText)
				}
				if d := compareViews(ref, readDatasetView(t, out)); len(d) > 0 {
					t.Errorf("after the rerun the dataset differs from an uninterrupted run: %v", d)
				}
			})
		}
	}
	t.Logf("%d of %d runs stopped by a signal", interrupted, 2*len(points))
	if interrupted == 0 {
		t.Errorf("no run was stopped by a signal: the test proved nothing")
	}
}
