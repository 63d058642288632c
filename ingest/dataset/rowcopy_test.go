package dataset

import (
	"bytes"
	"fmt"
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
	for _, tc := range []struct {
		name string
		// first is the options of the runs before the merge.
		first Options
		last  Options
		copy  bool
	}{
		{"copied", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: 1}, true},
		{"files too small to copy", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: 1000}, false},
		{"copying off", Options{CompactRows: -1}, Options{CompactRows: 1 << 20, CopyRows: -1}, false},
		{"another codec", Options{CompactRows: -1, Compression: CompressionSnappy}, Options{CompactRows: 1 << 20, CopyRows: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tc.first.Allocator, tc.last.Allocator = mem, mem
			root := t.TempDir()
			for i := 0; i < 4; i += 2 {
				w, _ := openWriter(t, root, tc.first)
				ingestObjects(t, mem, w, objs[i:i+2], false)
			}
			before := visibleFiles(t, root)
			if len(before) != 4 {
				t.Fatalf("%d files before the merge, want 4", len(before))
			}
			w, st := openWriter(t, root, tc.last)
			ingestObjects(t, mem, w, objs[4:], false)
			after := visibleFiles(t, root)
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
