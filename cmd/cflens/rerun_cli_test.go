package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
)

// fileState is what a rewrite would change about a file.
type fileState struct {
	Inode   uint64
	Size    int64
	ModTime time.Time
}

// folderState records every file under root.
func folderState(t *testing.T, root string) map[string]fileState {
	t.Helper()
	st := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		var ino uint64
		if sys, ok := info.Sys().(*syscall.Stat_t); ok {
			ino = sys.Ino
		}
		rel, _ := filepath.Rel(root, p)
		st[filepath.ToSlash(rel)] = fileState{Inode: ino, Size: info.Size(), ModTime: info.ModTime()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// ingestCLI runs `cflens ingest` in-process and returns its summary.
func ingestCLI(t *testing.T, args ...string) (*ingest.Summary, string, error) {
	t.Helper()
	summary := filepath.Join(t.TempDir(), "summary.json")
	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append(append([]string{"ingest"}, args...), "--summary", summary))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	b, rerr := os.ReadFile(summary)
	if rerr != nil {
		t.Fatalf("no summary: %v (run error %v)\n%s", rerr, err, stderr.String())
	}
	var sum ingest.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	return &sum, stderr.String(), err
}

// gzipLines writes lines as a gzip log file.
func gzipLines(t *testing.T, path string, lines []string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, strings.Join(lines, "\n")+"\n")
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gunzipLines reads a gzip log file's lines.
func gunzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestIncrementalRunsThroughCLI proves promises 1 and 4 on a local folder
// through `cflens ingest`: a rerun adds no row and rewrites no file; a
// late file for an hour already ingested is picked up; a rewritten file
// replaces its rows.
func TestIncrementalRunsThroughCLI(t *testing.T) {
	logs := writeScenario(t, 6, 1)
	out := filepath.Join(t.TempDir(), "ds")
	args := []string{logs, "--out", out, "--workers", "4"}
	first, stderr, err := ingestCLI(t, args...)
	if err != nil || !first.Complete {
		t.Fatalf("first run: %v\n%s", err, stderr)
	}
	base := readDatasetView(t, out)
	names, _ := filepath.Glob(filepath.Join(logs, "*.gz"))
	sort.Strings(names)

	t.Run("rerun adds nothing and rewrites nothing", func(t *testing.T) {
		before := folderState(t, out)
		time.Sleep(20 * time.Millisecond) // a rewrite would show in the modification times
		sum, stderr, err := ingestCLI(t, args...)
		if err != nil {
			t.Fatalf("rerun: %v\n%s", err, stderr)
		}
		if sum.Objects != 0 || sum.Rows != 0 || sum.Skipped != first.Objects {
			t.Errorf("rerun took %d objects, %d rows, skipped %d; want 0, 0, %d", sum.Objects, sum.Rows, sum.Skipped, first.Objects)
		}
		if diff := cmp.Diff(before, folderState(t, out)); diff != "" {
			t.Errorf("rerun changed files of the dataset (-before +after):\n%s", diff)
		}
		if d := compareViews(base, readDatasetView(t, out)); len(d) > 0 {
			t.Errorf("rows changed: %v", d)
		}
	})

	t.Run("late file for an ingested hour", func(t *testing.T) {
		// Delivered later, under a new name for the same hour (its
		// records are those of the first file; rows are told apart by
		// their source object).
		src := filepath.Base(names[0])
		parts := strings.SplitN(src, ".", 3) // ID, hour, unique.gz
		late := parts[0] + "." + parts[1] + ".late0001.gz"
		lines := gunzipLines(t, names[0])
		gzipLines(t, filepath.Join(logs, late), lines)
		sum, stderr, err := ingestCLI(t, args...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, stderr)
		}
		if sum.Objects != 1 || sum.Skipped != first.Objects {
			t.Errorf("took %d objects, skipped %d; want 1, %d", sum.Objects, sum.Skipped, first.Objects)
		}
		got := readDatasetView(t, out)
		bySource := sourceRows(got)
		if bySource[late] != sum.Rows || sum.Rows != sourceRows(base)[src] {
			t.Errorf("late file: %d rows in the dataset, %d in the summary, want %d", bySource[late], sum.Rows, sourceRows(base)[src])
		}
		if int64(len(got.rows)) != int64(len(base.rows))+sum.Rows || len(got.dups) > 0 {
			t.Errorf("dataset has %d rows (%d twice), want %d", len(got.rows), len(got.dups), int64(len(base.rows))+sum.Rows)
		}
		base = got
	})

	t.Run("rewritten file replaces its rows", func(t *testing.T) {
		victim := names[1]
		key := filepath.Base(victim)
		lines := gunzipLines(t, victim)
		kept := lines[:2+(len(lines)-2)/2] // the header and half the records
		gzipLines(t, victim, kept)
		sum, stderr, err := ingestCLI(t, args...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, stderr)
		}
		want := int64(len(kept) - 2)
		if sum.Objects != 1 || sum.Rows != want {
			t.Errorf("took %d objects, %d rows; want 1, %d", sum.Objects, sum.Rows, want)
		}
		got := readDatasetView(t, out)
		if n := sourceRows(got)[key]; n != want {
			t.Errorf("%s has %d rows in the dataset, want %d", key, n, want)
		}
		wantTotal := int64(len(base.rows)) - sourceRows(base)[key] + want
		if int64(len(got.rows)) != wantTotal || len(got.dups) > 0 {
			t.Errorf("dataset has %d rows (%d twice), want %d", len(got.rows), len(got.dups), wantTotal)
		}
		for k, d := range base.rows {
			if src, _, _ := strings.Cut(k, "\x00"); src != key && got.rows[k] != d {
				t.Errorf("row %q of another object changed or vanished", k)
				break
			}
		}
	})

	t.Run("file rewritten with its size and time is read again", func(t *testing.T) {
		// Another modification time inside the gzip header: the same
		// records, the same size, other bytes; the file's own
		// modification time is put back, as cp -p would. Only a digest
		// of the bytes tells the files apart.
		victim := names[2]
		info, err := os.Stat(victim)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(victim)
		if err != nil {
			t.Fatal(err)
		}
		b[4]++
		if err := os.WriteFile(victim, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(victim, info.ModTime(), info.ModTime()); err != nil {
			t.Fatal(err)
		}
		before := readDatasetView(t, out)
		sum, stderr, err := ingestCLI(t, args...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, stderr)
		}
		if sum.Objects != 1 {
			t.Errorf("took %d objects, want the rewritten one", sum.Objects)
		}
		if d := compareViews(before, readDatasetView(t, out)); len(d) > 0 {
			t.Errorf("rows changed: %v", d)
		}
	})
}

// vanishingSource deletes an object's file right after listing it, as
// when a lifecycle rule or an operator removes it mid-run.
type vanishingSource struct {
	*dirsource.Source
	root, victim string
}

func (s vanishingSource) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		for ref, err := range s.Source.List(ctx, from, to) {
			if err == nil && ref.Key == s.victim {
				os.Remove(filepath.Join(s.root, s.victim))
			}
			if !yield(ref, err) {
				return
			}
		}
	}
}

// TestVanishedObjectIsReported deletes a file between its listing and its
// fetch: the run reports it by key, is incomplete (main exits with 3), and writes
// every other object whole.
func TestVanishedObjectIsReported(t *testing.T) {
	logs := writeScenario(t, 4, 1)
	names, _ := filepath.Glob(filepath.Join(logs, "*.gz"))
	sort.Strings(names)
	victim := filepath.Base(names[len(names)/2])
	src, err := dirsource.New(logs, "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st, err := dataset.NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dataset.NewWriter(context.Background(), st, dataset.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	opts := ingest.DefaultOptions()
	opts.Workers = 4
	sum, err := ingest.Run(context.Background(), opts, []ingest.Source{vanishingSource{src, logs, victim}}, w)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("run error %v, want ErrIncomplete", err)
	}
	if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Object, victim) || sum.Failed[0].Attempts != 1 {
		t.Errorf("failed objects %+v, want %s once (a missing object is not retried)", sum.Failed, victim)
	}
	if sum.Objects != int64(len(names)-1) {
		t.Errorf("%d objects taken, want %d", sum.Objects, len(names)-1)
	}
	got := readDatasetView(t, root)
	if n := int64(len(sourceRows(got))); n != sum.Objects || int64(len(got.rows)) != sum.Rows {
		t.Errorf("dataset holds %d objects and %d rows; the summary says %d and %d", n, len(got.rows), sum.Objects, sum.Rows)
	}
	var text bytes.Buffer
	writeSummaryText(&text, sum, 0)
	if !strings.Contains(text.String(), "FAILED") || !strings.Contains(text.String(), victim) {
		t.Errorf("summary text does not name the vanished object:\n%s", text.String())
	}
}
