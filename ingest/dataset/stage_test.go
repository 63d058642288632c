package dataset

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/logparse"
	"github.com/cflens/cflens/ingest/schema"
)

// stagingFiles lists the files in the staging folder of a local dataset.
func stagingFiles(t testing.TB, root string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(stageDir)))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// writeStreaming parses o batch by batch into sink, releasing each batch
// once written, and calls after(n) after the n-th batch; it stops early
// when after returns false. It returns the batches written.
func writeStreaming(t testing.TB, mem memory.Allocator, sink ingest.ObjectSink, o object, after func(n int) bool) int {
	t.Helper()
	rd := logparse.NewReader(bytes.NewReader(o.data), logparse.WithSource(o.ref.Key),
		logparse.WithDistribution(o.ref.DistributionID, o.ref.Role), logparse.WithAllocator(mem), logparse.WithBatchRows(1000))
	defer rd.Release()
	n := 0
	for rd.Next() {
		if err := sink.Write(rd.Batch()); err != nil {
			t.Fatal(err)
		}
		n++
		if !after(n) {
			return n
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLargeObjectStaged writes objects far larger than StageBytes and
// checks that their rows are staged as they arrive instead of held (the
// writer's memory stays bounded while the object is read, and staging
// files appear), and that the dataset then holds exactly their rows, with
// no staging file left. The cases take the three ways a staging file
// reaches the dataset: renamed into place, read back into a file shared
// with another object, and put into a store that is not a local folder.
func TestLargeObjectStaged(t *testing.T) {
	const (
		stageBytes = 128 << 10
		lines      = 12000
	)
	big := func(key string, span time.Duration, seed uint64) object {
		data := genLog(hour0, span, lines, seed)
		return object{ref: ingestRef(key, "E1", data), data: data}
	}
	small := func(key string, seed uint64) object {
		data := genLog(hour0, time.Hour, 50, seed)
		return object{ref: ingestRef(key, "E1", data), data: data}
	}
	for _, tc := range []struct {
		name   string
		local  bool
		before []object // committed first, into the same buffer
		obj    object
	}{
		{"one hour, renamed into place", true, nil, big("big.log", time.Hour, 1)},
		{"three hours, renamed into place", true, nil, big("big.log", 3*time.Hour, 2)},
		{"shares its partition, read back", true, []object{small("small.log", 3)}, big("big.log", time.Hour, 4)},
		{"object store, put", false, nil, big("big.log", 2*time.Hour, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			root := t.TempDir()
			var st Store = newMemStore()
			if tc.local {
				d, err := NewDirStore(root)
				if err != nil {
					t.Fatal(err)
				}
				st = d
			}
			o := Options{StageBytes: stageBytes, BufferBytes: 4 << 20, RowGroupRows: 1000, SpoolDir: t.TempDir(), Allocator: mem}
			w, err := NewWriter(ctx, st, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.before {
				sink, err := w.Begin(ctx, b.ref)
				if err != nil {
					t.Fatal(err)
				}
				writeStreaming(t, mem, sink, b, func(int) bool { return true })
				if err := sink.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			base := mem.CurrentAlloc()
			sink, err := w.Begin(ctx, tc.obj.ref)
			if err != nil {
				t.Fatal(err)
			}
			var peak int
			writeStreaming(t, mem, sink, tc.obj, func(int) bool {
				peak = max(peak, mem.CurrentAlloc()-base)
				return true
			})
			total := sink.(*objectSink).obj.total
			staged := len(sink.(*objectSink).obj.staged)
			// Held: rows not yet staged (under StageBytes plus a
			// batch), rows gathered for a row group of each staging
			// file, and the parser's batch.
			t.Logf("held at most %d bytes of an object of %d, in %d staging files", peak, total, staged)
			// Held: the rows not yet staged (under StageBytes and a
			// batch), the rows gathered for a row group in the staging
			// files, with the batches they are cut from, and the
			// parser's next batch; none of it grows with the object.
			batch := total / (lines / 1000)
			bound := stageBytes + 4*batch
			if 2*bound > total {
				t.Fatalf("an object of %d bytes is too small to tell staging (bound %d) from holding", total, bound)
			}
			if int64(peak) > bound {
				t.Errorf("the writer held up to %d bytes of an object of %d; want at most %d", peak, total, bound)
			}
			if staged == 0 {
				t.Error("no staging file was made")
			}
			if tc.local && len(stagingFiles(t, root)) != staged {
				t.Errorf("staging folder holds %v, want %d files", stagingFiles(t, root), staged)
			}
			if spooled, _ := filepath.Glob(filepath.Join(o.SpoolDir, "*")); !tc.local && len(spooled) != staged {
				t.Errorf("spool folder holds %v, want %d staging files", spooled, staged)
			}
			if err := sink.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if left := stagingFiles(t, root); len(left) > 0 {
				t.Errorf("staging files left: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(o.SpoolDir, "*")); len(left) > 0 {
				t.Errorf("spool files left: %v", left)
			}
			all := append(append([]object(nil), tc.before...), tc.obj)
			want := expectedRows(t, all)
			got, _ := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
			sortRowsAny(want)
			sortRowsAny(got)
			if len(got) != lines+50*len(tc.before) {
				t.Errorf("read %d rows", len(got))
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("read back differs (-parsed +read):\n%s", cmp.Diff(want, got))
			}
			checkPartitions(t, st, mem)
		})
	}
}

// sortRowsAny orders rows by their request ID (column x_edge_request_id),
// unique in generated logs.
func sortRowsAny(rows [][]any) {
	key := func(r []any) string { s, _ := r[schema.EdgeRequestID].(string); return s }
	slices.SortFunc(rows, func(a, b []any) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
}

// TestLargeObjectAbortLeavesNothing aborts an object after part of it was
// staged (as a failed read does): the staging files go at once, and
// neither the dataset nor its journal ever holds any of its rows.
func TestLargeObjectAbortLeavesNothing(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	root := t.TempDir()
	w, _ := openWriter(t, root, Options{StageBytes: 128 << 10, RowGroupRows: 1000, Allocator: mem})
	data := genLog(hour0, 2*time.Hour, 12000, 9)
	obj := object{ref: ingestRef("big.log", "E1", data), data: data}
	sink, err := w.Begin(ctx, obj.ref)
	if err != nil {
		t.Fatal(err)
	}
	n := writeStreaming(t, mem, sink, obj, func(n int) bool { return n < 12 })
	if n != 12 {
		t.Fatalf("wrote %d batches, want 12", n)
	}
	if len(stagingFiles(t, root)) == 0 {
		t.Fatal("nothing was staged before the abort")
	}
	sink.Abort()
	if left := stagingFiles(t, root); len(left) > 0 {
		t.Errorf("staging files left after the abort: %v", left)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if files := visibleFiles(t, root); len(files) > 0 {
		t.Errorf("dataset holds %v after the abort", keysOf(files))
	}
	w2, _ := openWriter(t, root, Options{Allocator: mem})
	defer w2.Close(ctx)
	if w2.Has(obj.ref) || len(w2.Files()) > 0 {
		t.Errorf("journal holds the aborted object (%v) or files (%v)", w2.Has(obj.ref), w2.Files())
	}
}

// TestStagingLeftoverRemoved: a staging file left by a run that died is
// deleted when the dataset is next opened.
func TestStagingLeftoverRemoved(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(stageDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, tempPrefix+"stage-1.tmp")
	if err := os.WriteFile(left, []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, _ := openWriter(t, root, Options{})
	defer w.Close(context.Background())
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("staging file left by a dead run still there (stat: %v)", err)
	}
}
