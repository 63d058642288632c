package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/schema"
)

// TestColumnFileMatchesPqarrow: the parallel column writer writes the same
// bytes as pqarrow.FileWriter given the same row groups: real samples and
// generated logs (nulls, dictionary columns, several row groups of
// several batches), with each codec.
func TestColumnFileMatchesPqarrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var batches []arrow.RecordBatch
	for _, o := range testObjects(t) {
		batches = append(batches, parseLog(t, mem, o.ref, o.data)...)
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	// Row groups of up to four batches, their dictionaries unified as
	// rowGroups does.
	var groups [][]arrow.RecordBatch
	for i := 0; i < len(batches); i += 4 {
		g := make([]arrow.RecordBatch, 0, 4)
		for _, b := range batches[i:min(i+4, len(batches))] {
			b.Retain()
			g = append(g, b)
		}
		if len(g) > 1 {
			if err := unifyDicts(mem, g); err != nil {
				t.Fatal(err)
			}
		}
		groups = append(groups, g)
	}
	defer func() {
		for _, g := range groups {
			for _, b := range g {
				b.Release()
			}
		}
	}()
	if len(groups) < 3 {
		t.Fatalf("%d row groups, want several", len(groups))
	}
	for _, codec := range []string{CompressionZstd, CompressionSnappy} {
		t.Run(codec, func(t *testing.T) {
			props, arrowProps, err := writerProperties(Options{Compression: codec, RowGroupRows: 1 << 20}, mem)
			if err != nil {
				t.Fatal(err)
			}
			var want, got bytes.Buffer
			fw, err := pqarrow.NewFileWriter(schema.Arrow(), &want, props, arrowProps)
			if err != nil {
				t.Fatal(err)
			}
			for k, g := range groups {
				if k > 0 {
					if err := fw.NewBufferedRowGroupChecked(); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range g {
					if err := fw.WriteBuffered(b); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			cf, err := newColumnFile(&got, schema.Arrow(), props, arrowProps, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				if err := cf.writeRowGroup(g); err != nil {
					t.Fatal(err)
				}
			}
			if err := cf.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%d bytes differ from pqarrow.FileWriter's %d", got.Len(), want.Len())
			}
		})
	}
}

// pageTestSchema has a column n of int64, s and d of strings, and z of
// int64.
var pageTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "d", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "z", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// pageTestBatches returns batches of rows rows each of pageTestSchema: n
// never null, d from few values, and z always null.
func pageTestBatches(t *testing.T, mem memory.Allocator, sc *arrow.Schema, batches, rows int) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for k := range batches {
		b := array.NewRecordBuilder(mem, sc)
		for i := range rows {
			r := k*rows + i
			b.Field(0).(*array.Int64Builder).Append(int64(r) * 7919)
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("value-%d", r))
			b.Field(2).(*array.StringBuilder).Append([]string{"Hit", "Miss", "Error"}[r%3])
			b.Field(3).AppendNull()
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// TestColumnFilePageBoundaries: the last pages flushed in the column
// goroutines leave the file as pqarrow.FileWriter writes it, also when a
// row group ends exactly where a page is cut (no empty page), and for a
// column of nulls only.
func TestColumnFilePageBoundaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := pageTestSchema
	// Batches of 2048 rows: arrow-go checks the page size after every
	// 1024 values, so a page of 8 KiB of int64 is cut exactly at the end
	// of each batch, and so of each row group.
	batches := pageTestBatches(t, mem, sc, 6, 2048)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for _, pageBytes := range []int64{8 << 10, 3000, 1 << 20} {
		t.Run(fmt.Sprint(pageBytes), func(t *testing.T) {
			props := parquet.NewWriterProperties(
				parquet.WithAllocator(mem),
				parquet.WithCompression(compress.Codecs.Zstd),
				parquet.WithStats(true),
				parquet.WithDictionaryDefault(false),
				parquet.WithDictionaryFor("d", true),
				parquet.WithDataPageSize(pageBytes),
			)
			arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
			var want, got bytes.Buffer
			fw, err := pqarrow.NewFileWriter(sc, &want, props, arrowProps)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := newColumnFile(&got, sc, props, arrowProps, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < len(batches); k += 2 {
				if k > 0 {
					if err := fw.NewBufferedRowGroupChecked(); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range batches[k : k+2] {
					if err := fw.WriteBuffered(b); err != nil {
						t.Fatal(err)
					}
				}
				if err := cf.writeRowGroup(batches[k : k+2]); err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := cf.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%d bytes differ from pqarrow.FileWriter's %d", got.Len(), want.Len())
			}
		})
	}
}

// TestFlushLastPage: flushLastPage writes the last page of a column before
// the row group closes when values are buffered, and nothing when the
// column's last page was cut as it was written: a PLAIN column, a
// dictionary column, and a column of nulls, with pages larger than the
// row group and with pages cut along the way.
func TestFlushLastPage(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := pageTestSchema
	batches := pageTestBatches(t, mem, sc, 1, 1000)
	defer batches[0].Release()
	for _, tc := range []struct {
		pageBytes   int64
		wantFlushed []bool // n, s, d, z
	}{
		// One page per column, all buffered.
		{1 << 20, []bool{true, true, true, true}},
		// 1000 values are written as one batch, after which every column
		// but the nulls has passed 1 KiB and cut its page: nothing is left.
		{1 << 10, []bool{false, false, false, true}},
	} {
		props := parquet.NewWriterProperties(
			parquet.WithAllocator(mem),
			parquet.WithDictionaryDefault(false),
			parquet.WithDictionaryFor("d", true),
			parquet.WithDataPageSize(tc.pageBytes),
		)
		arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem))
		pqs, err := pqarrow.ToParquet(sc, props, arrowProps)
		if err != nil {
			t.Fatal(err)
		}
		wr := file.NewParquetWriter(io.Discard, pqs.Root(), file.WithWriterProps(props))
		rgw, err := wr.AppendBufferedRowGroupChecked()
		if err != nil {
			t.Fatal(err)
		}
		ctx := pqarrow.NewArrowWriteContext(context.Background(), &arrowProps)
		for i, wantFlushed := range tc.wantFlushed {
			cw, err := rgw.Column(i)
			if err != nil {
				t.Fatal(err)
			}
			col := batches[0].Column(i)
			if err := pqarrow.WriteArrowToColumn(ctx, cw, col, defLevels(col), nil, true); err != nil {
				t.Fatal(err)
			}
			before := cw.TotalCompressedBytes()
			if err := flushLastPage(cw); err != nil {
				t.Fatal(err)
			}
			if flushed := cw.TotalCompressedBytes() != before; flushed != wantFlushed {
				t.Errorf("pages of %d bytes, column %s: flushed %v, want %v", tc.pageBytes, sc.Field(i).Name, flushed, wantFlushed)
			}
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDefLevels: the levels are 1 for values and 0 for nulls, for slices
// at any offset and for dictionary arrays, also when one scratch takes
// batches with and without nulls, shorter and longer, in turn.
func TestDefLevels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	for i := range 100 {
		if i%3 == 0 || i == 41 {
			ib.AppendNull()
		} else {
			ib.Append(int64(i))
		}
	}
	withNulls := ib.NewArray()
	defer withNulls.Release()
	for range 200 {
		ib.Append(1)
	}
	noNulls := ib.NewArray()
	defer noNulls.Release()
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String})
	defer db.Release()
	sdb := db.(*array.BinaryDictionaryBuilder)
	for i := range 30 {
		if i%4 == 1 {
			sdb.AppendNull()
		} else {
			sdb.AppendString(fmt.Sprint(i % 5))
		}
	}
	dict := sdb.NewArray()
	defer dict.Release()
	var slices []arrow.Array
	defer func() {
		for _, s := range slices {
			s.Release()
		}
	}()
	slice := func(a arrow.Array, i, j int64) arrow.Array {
		s := array.NewSlice(a, i, j)
		slices = append(slices, s)
		return s
	}
	var s levelScratch
	for k, a := range []arrow.Array{
		noNulls, withNulls, slice(noNulls, 0, 50), slice(withNulls, 5, 90), noNulls,
		slice(withNulls, 13, 14), dict, slice(dict, 3, 29), slice(noNulls, 7, 150), withNulls,
	} {
		want := make([]int16, a.Len())
		for i := range want {
			if a.IsValid(i) {
				want[i] = 1
			}
		}
		if diff := cmp.Diff(want, s.defLevels(a)); diff != "" {
			t.Errorf("array %d (%d values, %d nulls): levels (-want +got):\n%s", k, a.Len(), a.NullN(), diff)
		}
		if diff := cmp.Diff(want, defLevels(a)); diff != "" {
			t.Errorf("array %d, new scratch: levels (-want +got):\n%s", k, diff)
		}
	}
}

// TestReferenced: the dictionary values a batch's valid indices
// reference, in dictionary order; the dictionary itself when all are;
// an error for an index past it.
func TestReferenced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"d", "a", "c", "b"}, nil)
	dict := sb.NewArray()
	sb.Release()
	defer dict.Release()
	for _, tc := range []struct {
		name  string
		idx   []int32
		valid []bool
		want  []string
	}{
		{"some", []int32{2, 2, 0}, nil, []string{"d", "c"}},
		{"nulls skipped", []int32{3, 1, 0}, []bool{false, true, false}, []string{"a"}},
		{"all", []int32{3, 2, 1, 0, 1}, nil, []string{"d", "a", "c", "b"}},
		{"none", nil, nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib := array.NewInt32Builder(mem)
			ib.AppendValues(tc.idx, tc.valid)
			idx := ib.NewInt32Array()
			ib.Release()
			defer idx.Release()
			var s levelScratch
			got, err := referenced(dict, idx, &s)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			vals := []string{}
			for i := 0; i < got.Len(); i++ {
				vals = append(vals, got.(*array.String).Value(i))
			}
			if diff := cmp.Diff(tc.want, vals); diff != "" {
				t.Errorf("referenced values (-want +got):\n%s", diff)
			}
			if len(tc.want) == dict.Len() && got != dict {
				t.Error("all values referenced, but not the dictionary itself returned")
			}
		})
	}
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{1, 4}, nil)
	idx := ib.NewInt32Array()
	ib.Release()
	defer idx.Release()
	var s levelScratch
	if _, err := referenced(dict, idx, &s); err == nil {
		t.Error("index 4 of a 4-entry dictionary accepted")
	}
}

// TestDictFallbacksRemembered: once a plain string column's dictionary
// outgrows its limit in a row group, the later row groups of the run, in
// that file and the next, write it PLAIN from the start, while the other
// dictionary columns keep theirs; without the memory, each row group
// tries its dictionary again, as does a column marked to keep it. Both
// ways the files read back the same.
func TestDictFallbacksRemembered(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := pageTestSchema
	// s holds distinct values: 2048 of them outgrow a 4 KiB dictionary.
	// The next batches are cut to 100 rows, whose dictionary of s fits.
	batches := pageTestBatches(t, mem, sc, 3, 2048)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	groups := [][]arrow.RecordBatch{batches[:1], {batches[1].NewSlice(0, 100)}, {batches[2].NewSlice(0, 100)}}
	defer groups[1][0].Release()
	defer groups[2][0].Release()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("s", true),
		parquet.WithDictionaryFor("d", true),
		parquet.WithDictionaryPageSizeLimit(4<<10),
	)
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
	write := func(fb *dictFallbacks, groups [][]arrow.RecordBatch) []byte {
		t.Helper()
		var buf bytes.Buffer
		cf, err := newColumnFile(&buf, sc, props, arrowProps, fb)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if err := cf.writeRowGroup(g); err != nil {
				t.Fatal(err)
			}
		}
		if err := cf.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	// dictPages reports, by row group, whether columns s and d have a
	// dictionary page.
	dictPages := func(data []byte) (s, d []bool) {
		t.Helper()
		rd, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		for k := range rd.NumRowGroups() {
			rg := rd.MetaData().RowGroup(k)
			for col, dst := range map[int]*[]bool{1: &s, 2: &d} {
				cc, err := rg.ColumnChunk(col)
				if err != nil {
					t.Fatal(err)
				}
				*dst = append(*dst, cc.HasDictionaryPage())
			}
		}
		return s, d
	}
	readAll := func(data []byte) arrow.Table {
		t.Helper()
		tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatal(err)
		}
		return tbl
	}

	noMemory := write(nil, groups)
	fb := newDictFallbacks(sc.NumFields())
	remembered := write(fb, groups)
	next := write(fb, groups[1:])

	if s, d := dictPages(noMemory); !cmp.Equal(s, []bool{false, true, true}) || !cmp.Equal(d, []bool{true, true, true}) {
		t.Errorf("without memory: dictionary pages of s %v, d %v; want [false true true] and all", s, d)
	}
	if s, d := dictPages(remembered); !cmp.Equal(s, []bool{false, false, false}) || !cmp.Equal(d, []bool{true, true, true}) {
		t.Errorf("with memory: dictionary pages of s %v, d %v; want none and all", s, d)
	}
	if s, d := dictPages(next); !cmp.Equal(s, []bool{false, false}) || !cmp.Equal(d, []bool{true, true}) {
		t.Errorf("the run's next file: dictionary pages of s %v, d %v; want none and all", s, d)
	}
	if !fb.fellBack(1) || fb.fellBack(2) || fb.fellBack(0) {
		t.Errorf("fallbacks remembered: n %v, s %v, d %v; want only s", fb.fellBack(0), fb.fellBack(1), fb.fellBack(2))
	}
	kept := newDictFallbacks(sc.NumFields(), 1)
	if s, _ := dictPages(write(kept, groups)); !cmp.Equal(s, []bool{false, true, true}) || kept.fellBack(1) {
		t.Errorf("s kept: dictionary pages %v, remembered %v; want [false true true], false", s, kept.fellBack(1))
	}
	a, b := readAll(noMemory), readAll(remembered)
	defer a.Release()
	defer b.Release()
	if !array.TableEqual(a, b) {
		t.Error("the files read back differently")
	}
	if a.NumRows() != 2048+200 {
		t.Errorf("%d rows read back, want %d", a.NumRows(), 2048+200)
	}
}
