package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/schema"
)

// chunkBytes returns the bytes of a Parquet file's column chunks, from
// the first to the end of the last, and their codecs.
func chunkBytes(t *testing.T, data string) (string, map[compress.Compression]bool) {
	t.Helper()
	rd, err := file.NewParquetReader(bytes.NewReader([]byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := int64(len(data)), int64(0)
	codecs := map[compress.Compression]bool{}
	for i := 0; i < rd.NumRowGroups(); i++ {
		rg := rd.MetaData().RowGroup(i)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() {
				start = min(start, cc.DictionaryPageOffset())
			}
			lo, hi = min(lo, start), max(hi, start+cc.TotalCompressedSize())
			codecs[cc.Compression()] = true
		}
	}
	return data[lo:hi], codecs
}

// TestMergeCopiesRowGroups merges files written by earlier runs and
// checks that the merged file holds the row groups of each file kept
// whole byte for byte, or encoded again when they cannot be copied, and
// that every row reads back either way.
func TestMergeCopiesRowGroups(t *testing.T) {
	var objs []object
	for i := 0; i < 6; i++ {
		h := hour0.Add(time.Duration(i%2) * time.Hour)
		data := genLog(h, time.Hour, 400, uint64(i+900))
		objs = append(objs, object{ref: ingestRef(fmt.Sprintf("logs/E2PROD.%s.%04d.gz", h.Format("2006-01-02-15"), i), "E2PROD", data), data: data})
	}
	want := expectedRows(t, objs)
	stores := []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"folder", func(t *testing.T) Store {
			st, err := NewDirStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		// A store without local files: the files to copy are spooled.
		{"objects only", func(t *testing.T) Store { return newMemStore() }},
	}
	for _, tc := range []struct {
		name string
		// first is the options of the runs before the merge.
		first Options
		last  Options
		copy  bool
	}{
		{"copied", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: 1}, true},
		{"copied, several row groups a file", Options{CompactRows: -1, RowGroupRows: 150}, Options{CompactRows: 1 << 20, CopyRows: 1}, true},
		{"files too small to copy", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: 1000}, false},
		{"copying off", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: -1}, false},
		{"another codec", Options{CompactRows: -1, Compression: CompressionSnappy}, Options{CompactRows: 1 << 20, CopyRows: 1}, false},
	} {
		for _, sc := range stores {
			t.Run(tc.name+", "+sc.name, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				tc.first.Allocator, tc.last.Allocator = mem, mem
				tc.first.SpoolDir, tc.last.SpoolDir = t.TempDir(), t.TempDir()
				st := sc.open(t)
				for i := 0; i < 4; i += 2 {
					w, err := NewWriter(context.Background(), st, tc.first)
					if err != nil {
						t.Fatal(err)
					}
					ingestObjects(t, mem, w, objs[i:i+2], false)
				}
				before := dataFiles(t, st)
				if len(before) != 4 {
					t.Fatalf("%d files before the merge, want 4", len(before))
				}
				w, err := NewWriter(context.Background(), st, tc.last)
				if err != nil {
					t.Fatal(err)
				}
				ingestObjects(t, mem, w, objs[4:], false)
				after := dataFiles(t, st)
				if len(after) != 2 {
					t.Fatalf("%d files after the merge, want one per hour", len(after))
				}
				var merged strings.Builder
				for _, data := range after {
					merged.WriteString(data)
					if _, codecs := chunkBytes(t, data); len(codecs) != 1 || !codecs[compress.Codecs.Zstd] {
						t.Errorf("merged file's codecs %v, want zstd only", codecs)
					}
				}
				for key, data := range before {
					chunks, _ := chunkBytes(t, data)
					if got := strings.Contains(merged.String(), chunks); got != tc.copy {
						t.Errorf("%s: column chunks found as they were: %v, want %v", key, got, tc.copy)
					}
				}
				got, c := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("rows (-parsed +read):\n%s", diff)
				}
				if c.Rows != int64(len(want)) {
					t.Errorf("%d rows read, want %d", c.Rows, len(want))
				}
				checkPartitions(t, st, mem)
			})
		}
	}
}

// dataFiles returns the data files of a store, by key.
func dataFiles(t *testing.T, st Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for ref, err := range st.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(ref.Key, ".parquet") || strings.HasPrefix(ref.Key, "_cflens/") {
			continue
		}
		rc, err := st.Get(context.Background(), ref.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[ref.Key] = string(b)
	}
	return out
}

// TestMergeCopiesAroundReplacedRows merges a file kept whole (copied)
// with one that loses an object to a changed version (encoded again),
// then replaces an object of the copied rows: each step reads back every
// row once, which holds only if the journal lists the merged file's
// objects in the order of its rows.
func TestMergeCopiesAroundReplacedRows(t *testing.T) {
	var objs []object
	for i := 0; i < 5; i++ {
		data := genLog(hour0, time.Hour, 300, uint64(i+700))
		objs = append(objs, object{ref: ingestRef(fmt.Sprintf("logs/E2PROD.2025-09-10-07.%04d.gz", i), "E2PROD", data), data: data})
	}
	changed := func(o object, etag string, seed uint64) object {
		o.data = genLog(hour0, time.Hour, 250, seed)
		o.ref.ETag, o.ref.Size = etag, int64(len(o.data))
		return o
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	root := t.TempDir()
	sep := Options{CompactRows: -1, Allocator: mem}
	merge := Options{CompactRows: 1 << 20, CopyRows: 1, Allocator: mem}
	w, st := openWriter(t, root, sep)
	ingestObjects(t, mem, w, objs[0:2], false) // file A: 0, 1
	w, _ = openWriter(t, root, sep)
	ingestObjects(t, mem, w, objs[2:4], false) // file B: 2, 3
	before := visibleFiles(t, root)
	holds0 := map[string]bool{} // by file: whether it holds object 0
	for _, f := range w.Files() {
		for _, o := range f.Objects {
			holds0[f.Key] = holds0[f.Key] || o.Key == objs[0].ref.Key
		}
	}
	if len(before) != 2 || len(holds0) != 2 {
		t.Fatalf("%d files, %d in the journal, want 2", len(before), len(holds0))
	}

	// 0 changes: A keeps only 1 and is encoded again; B is copied.
	live := []object{changed(objs[0], "e2", 71), objs[1], objs[2], objs[3], objs[4]}
	w, _ = openWriter(t, root, merge)
	if n := ingestObjects(t, mem, w, live, false); n != 2 {
		t.Fatalf("wrote %d objects, want 2", n)
	}
	after := visibleFiles(t, root)
	if len(after) != 1 {
		t.Fatalf("%d files after the merge, want 1", len(after))
	}
	var merged string
	for _, d := range after {
		merged = d
	}
	for key, data := range before {
		chunks, _ := chunkBytes(t, data)
		if copied := strings.Contains(merged, chunks); copied == holds0[key] {
			t.Errorf("%s (holds object 0: %v): column chunks found as they were: %v", key, holds0[key], copied)
		}
	}
	check := func(step string, want []object) {
		t.Helper()
		got, _ := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
		if diff := cmp.Diff(expectedRows(t, want), got); diff != "" {
			t.Errorf("%s: rows (-want +got):\n%s", step, diff)
		}
		checkPartitions(t, st, mem)
	}
	check("after the merge", live)

	// 3 changes: its rows are among the copied ones.
	live[3] = changed(objs[3], "e3", 72)
	w, _ = openWriter(t, root, merge)
	if n := ingestObjects(t, mem, w, live, false); n != 1 {
		t.Fatalf("wrote %d objects, want 1", n)
	}
	check("after replacing copied rows", live)
}

// TestMergeCopiesStagedParts: the staging files of objects that share a
// partition's new file have their row groups copied into it, so the
// file's row groups are those of each staging file in turn; with copying
// off, the rows are encoded again into full row groups. Every row reads
// back either way.
func TestMergeCopiesStagedParts(t *testing.T) {
	var objs []object
	for i := 0; i < 3; i++ {
		data := genLog(hour0, time.Hour, 300, uint64(i+500))
		objs = append(objs, object{ref: ingestRef(fmt.Sprintf("logs/E2PROD.2025-09-10-07.%04d.gz", i), "E2PROD", data), data: data})
	}
	want := expectedRows(t, objs)
	for _, tc := range []struct {
		name      string
		copyRows  int64
		rowGroups []int64
	}{
		{"copied", 1, []int64{200, 100, 200, 100, 200, 100}},
		{"copying off", -1, []int64{200, 200, 200, 200, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			root := t.TempDir()
			w, st := openWriter(t, root, Options{StageBytes: 1, RowGroupRows: 200, CopyRows: tc.copyRows, Allocator: mem})
			ingestObjects(t, mem, w, objs, false)
			files := visibleFiles(t, root)
			if len(files) != 1 {
				t.Fatalf("%d files, want 1", len(files))
			}
			for _, data := range files {
				rd, err := file.NewParquetReader(bytes.NewReader([]byte(data)))
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for i := 0; i < rd.NumRowGroups(); i++ {
					got = append(got, rd.MetaData().RowGroup(i).NumRows())
				}
				if diff := cmp.Diff(tc.rowGroups, got); diff != "" {
					t.Errorf("rows of the row groups (-want +got):\n%s", diff)
				}
			}
			got, _ := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-parsed +read):\n%s", diff)
			}
			checkPartitions(t, st, mem)

			// A changed object 1 is staged and copied in before the rows
			// kept from the file; then object 0, among those, changes.
			// Each step reads back every row once only if the journal
			// lists the file's objects in the order of its rows.
			live := slices.Clone(objs)
			for k, step := range []int{1, 0} {
				c := live[step]
				c.data = genLog(hour0, time.Hour, 280, uint64(600+k))
				c.ref.ETag, c.ref.Size = fmt.Sprintf("e%d", k+2), int64(len(c.data))
				live[step] = c
				w, _ := openWriter(t, root, Options{StageBytes: 1, RowGroupRows: 200, CopyRows: tc.copyRows, Allocator: mem})
				if n := ingestObjects(t, mem, w, live, false); n != 1 {
					t.Fatalf("step %d: wrote %d objects, want 1", k, n)
				}
				got, _ := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
				if diff := cmp.Diff(expectedRows(t, live), got); diff != "" {
					t.Errorf("step %d: rows (-parsed +read):\n%s", k, diff)
				}
				checkPartitions(t, st, mem)
			}
		})
	}
}
