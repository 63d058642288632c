package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// killPoints is the number of kill points TestKillAndResume tries; the
// environment variable CFLENS_KILL_POINTS raises it.
func killPoints(t *testing.T) int {
	n := 12
	if testing.Short() {
		n = 3
	}
	if s := os.Getenv("CFLENS_KILL_POINTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("CFLENS_KILL_POINTS=%q", s)
		}
		n = v
	}
	return n
}

// killPlan spreads n kill points over a run that took took and wrote
// records commit records: the first at once (before the dataset folder
// exists), then by turns a commit record to wait for and a seeded random
// moment of the run.
func killPlan(n, records int, took time.Duration) []interruptPoint {
	rng := rand.New(rand.NewPCG(9, uint64(n)))
	points := []interruptPoint{{delay: 0}}
	for i := 1; i < n; i++ {
		if i%2 == 1 {
			// Commit records 1 … records-1: the run has more to write.
			points = append(points, interruptPoint{records: 1 + (i/2)%(records-1)})
			continue
		}
		// From start-up to near the usual end (runs on a loaded machine
		// take longer).
		points = append(points, interruptPoint{delay: time.Duration(float64(took) * 0.9 * (float64(i) + rng.Float64()) / float64(n))})
	}
	return points
}

// TestKillAndResume kills `cflens ingest` with SIGKILL at points spread
// over a run (see killPlan), resumes with a plain rerun, and checks that
// the dataset is then exactly the one an uninterrupted run writes: every
// (source, line) row once with the same values, the same rows per
// partition, every visible Parquet file whole (also right after the
// kill: a kill before the dataset folder exists leaves an empty dataset),
// and no temporary file left. It fails unless some kill landed while part
// of the rows were written, so that it cannot pass without testing a
// resume.
func TestKillAndResume(t *testing.T) {
	logs := writeScenario(t, 12, 2)
	// A small checkpoint buffer makes a run write several checkpoints, so
	// kills land between, during and after them.
	args := func(out string) []string {
		return []string{"ingest", logs, "--out", out, "--workers", "4", "--checkpoint-bytes", "2000000"}
	}

	refDir := filepath.Join(t.TempDir(), "ref")
	start := time.Now()
	if code, _, stderr := runCLIChild(t, nil, args(refDir)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s", code, stderr)
	}
	took := time.Since(start)
	ref := readDatasetView(t, refDir)
	if len(ref.rows) == 0 || len(ref.dups) > 0 {
		t.Fatalf("reference: %d rows, %d twice", len(ref.rows), len(ref.dups))
	}
	records := journalRecords(refDir)
	if records < 2 {
		t.Fatalf("the reference run wrote %d commit records; kills between commits need at least 2", records)
	}

	points := killPlan(killPoints(t), records, took)
	var killed, finished, partial, midCheckpoint int
	for i, pt := range points {
		out := filepath.Join(t.TempDir(), "ds")
		cmd := cliCommand(context.Background(), args(out)...)
		done := startCLI(t, cmd)
		if waitPoint(pt, out, done) && cmd.Process.Signal(syscall.SIGKILL) == nil {
			killed++
		} else {
			finished++
		}
		<-done
		// Right after the kill, a glob reader sees only whole files.
		after := readDatasetView(t, out)
		if len(after.rows) > 0 && len(after.rows) < len(ref.rows) {
			partial++
		}
		if p, _ := filepath.Glob(filepath.Join(out, "_cflens", "journal", "*.pending.json")); len(p) > 0 {
			midCheckpoint++
		}

		if code, _, stderr := runCLIChild(t, nil, args(out)...); code != 0 {
			t.Fatalf("kill point %d (%v): resume exit %d\n%s", i, pt, code, stderr)
		}
		got := readDatasetView(t, out)
		if d := compareViews(ref, got); len(d) > 0 {
			t.Errorf("kill point %d (%v): dataset after resume differs from an uninterrupted run:\n%v", i, pt, d)
		}
		if l := leftovers(t, out); len(l) > 0 {
			t.Errorf("kill point %d (%v): left over: %v", i, pt, l)
		}
		// A second rerun takes nothing more.
		code, _, stderr := runCLIChild(t, nil, args(out)...)
		if code != 0 {
			t.Fatalf("kill point %d: second rerun exit %d\n%s", i, code, stderr)
		}
		if again := readDatasetView(t, out); len(compareViews(ref, again)) > 0 {
			t.Errorf("kill point %d: second rerun changed the dataset", i)
		}
	}
	t.Logf("%d kill points over a %v run (%d files, %d rows in %d partitions, %d commits): %d killed (%d with part of the rows written, %d inside a checkpoint), %d finished before the kill",
		len(points), took.Round(time.Millisecond), ref.files, len(ref.rows), len(ref.partitions), records, killed, partial, midCheckpoint, finished)
	if partial == 0 {
		t.Errorf("no kill landed while part of the rows were written (%d killed, %d finished first): no resume was tested", killed, finished)
	}
}
