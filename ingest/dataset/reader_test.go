package dataset

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/schema"
)

// flatColumns are columns of every kind that flatBatches reads: a
// timestamp, INT32 and INT64 with nulls, plain and dictionary strings
// with nulls, and a column that is null throughout (role of the samples).
var flatColumns = []int{
	schema.Timestamp_, schema.ScStatus, schema.CPort, schema.ScRangeStart, schema.ScContentLen,
	schema.CsURIStem, schema.CsURIQuery, schema.DistributionID, schema.EdgeResultType,
	schema.EdgeDetailedResultType, schema.Role, schema.Source, schema.Line,
}

// TestFlatBatchesMatchPqarrow reads every file of datasets written with
// several settings through flatBatches and through pqarrow (fileBatches):
// the rows agree, with and without dictionary strings, and the memory is
// all returned.
func TestFlatBatchesMatchPqarrow(t *testing.T) {
	objs := testObjects(t)
	for _, tc := range []struct {
		name      string
		o         Options
		batchRows int64
	}{
		{"one row group per file", Options{}, 64 * 1024},
		{"row groups of 1000 rows, batches of 333", Options{RowGroupRows: 1000, BufferBytes: 256 << 10}, 333},
		{"snappy, no compaction", Options{Compression: CompressionSnappy, CompactRows: -1, BufferBytes: 256 << 10}, 4096},
		{"pages of 512 bytes", Options{PageBytes: 512, RowGroupRows: 5000, BufferBytes: 256 << 10}, 700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			st, err := NewDirStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tc.o.Allocator = mem
			w, err := NewWriter(context.Background(), st, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			ingestObjects(t, mem, w, objs, false)
			files, err := Files(context.Background(), st, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(files) == 0 {
				t.Fatal("no files written")
			}
			var sc flatScratch
			defer sc.release()
			fields := make([]arrow.Field, len(flatColumns))
			for i, c := range flatColumns {
				fields[i] = schema.Arrow().Field(c)
			}
			want := arrow.NewSchema(fields, nil)
			total := 0
			for _, f := range files {
				rd, closeFile, err := openParquet(context.Background(), st, f.Key, "", mem)
				if err != nil {
					t.Fatal(err)
				}
				var ref []arrow.RecordBatch
				err = fileBatches(context.Background(), rd, flatColumns, tc.batchRows, mem, func(b arrow.RecordBatch) error {
					b.Retain()
					ref = append(ref, b)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				wantRows := rowsOf(t, want, ref)
				total += len(wantRows)
				for _, b := range ref {
					b.Release()
				}
				for _, dict := range []bool{false, true} {
					var got [][]any
					ok, err := flatBatches(context.Background(), rd, flatColumns, tc.batchRows, mem, dict, &sc, func(b arrow.RecordBatch) error {
						if b.NumRows() > tc.batchRows {
							t.Errorf("batch of %d rows, want at most %d", b.NumRows(), tc.batchRows)
						}
						stem := b.Column(5).DataType().ID()
						if wantID := map[bool]arrow.Type{false: arrow.STRING, true: arrow.DICTIONARY}[dict]; stem != wantID {
							t.Errorf("dictStrings %v: cs_uri_stem is %s", dict, b.Column(5).DataType())
						}
						for i := 0; i < int(b.NumRows()); i++ {
							row := make([]any, b.NumCols())
							for c := range row {
								row[c] = cell(b.Column(c), i)
							}
							got = append(got, row)
						}
						return nil
					})
					if err != nil || !ok {
						t.Fatalf("%s: flatBatches = %v, %v", f.Key, ok, err)
					}
					if diff := cmp.Diff(wantRows, got); diff != "" {
						t.Errorf("%s, dictStrings %v (-pqarrow +flat):\n%s", f.Key, dict, diff)
					}
				}
				closeFile()
			}
			if total != len(expectedRows(t, objs)) {
				t.Errorf("read %d rows, want %d", total, len(expectedRows(t, objs)))
			}
			// The writer leaves every dictionary column dictionary-encoded,
			// so the index decoder must have read some of the chunks.
			if sc.indexChunks == 0 {
				t.Error("no column chunk was read by its dictionary indices")
			}
		})
	}
}

// TestFlatBatchesDeclines: columns that flatBatches does not read
// (dates, doubles) leave the file to pqarrow, before any batch.
func TestFlatBatchesDeclines(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(context.Background(), st, Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	ingestObjects(t, mem, w, testObjects(t)[:1], false)
	files, err := Files(context.Background(), st, ReadOptions{})
	if err != nil || len(files) == 0 {
		t.Fatalf("files %v, %v", files, err)
	}
	for _, tc := range []struct {
		name string
		cols []int
		want bool
	}{
		{"timestamp and status", []int{schema.Timestamp_, schema.ScStatus}, true},
		{"date", []int{schema.Timestamp_, schema.Date_}, false},
		{"double", []int{schema.TimeTaken}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, closeFile, err := openParquet(context.Background(), st, files[0].Key, "", mem)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFile()
			var sc flatScratch
			defer sc.release()
			batches := 0
			ok, err := flatBatches(context.Background(), rd, tc.cols, 1024, mem, false, &sc, func(b arrow.RecordBatch) error {
				batches++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want || (!ok && batches > 0) {
				t.Errorf("flatBatches = %v after %d batches, want %v", ok, batches, tc.want)
			}
		})
	}
}
