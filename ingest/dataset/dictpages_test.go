package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// hybridEncode writes the RLE/bit-packed hybrid encoding as the Parquet
// format describes it, independently of the decoder: runs of equal
// values longer than 8 as repeated runs, the rest bit-packed in groups of
// eight (the last group padded with zeros).
func hybridEncode(vals []uint32, width uint) []byte {
	var out []byte
	put := func(header uint64) { out = binary.AppendUvarint(out, header) }
	var lit []uint32
	flushLit := func() {
		if len(lit) == 0 {
			return
		}
		groups := (len(lit) + 7) / 8
		put(uint64(groups)<<1 | 1)
		packed := make([]byte, groups*int(width))
		for i, v := range lit {
			for b := uint(0); b < width; b++ {
				if v>>b&1 == 1 {
					bit := uint(i)*width + b
					packed[bit/8] |= 1 << (bit % 8)
				}
			}
		}
		out = append(out, packed...)
		lit = lit[:0]
	}
	for i := 0; i < len(vals); {
		j := i
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		// A repeated run may only start on a group boundary of the
		// literals before it.
		if j-i >= 8 && len(lit)%8 == 0 {
			flushLit()
			put(uint64(j-i) << 1)
			for b := 0; b < int(width+7)/8; b++ {
				out = append(out, byte(vals[i]>>(8*b)))
			}
			i = j
			continue
		}
		lit = append(lit, vals[i])
		i++
	}
	flushLit()
	return out
}

func TestHybridRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for _, width := range []uint{0, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 24, 31, 32} {
		for trial := 0; trial < 20; trial++ {
			n := 1 + r.IntN(3000)
			vals := make([]uint32, n)
			limit := uint64(1) << width
			for i := 0; i < n; {
				v := uint32(r.Uint64N(limit))
				run := 1
				if r.IntN(3) == 0 {
					run = 1 + r.IntN(40)
				}
				for ; run > 0 && i < n; run-- {
					vals[i] = v
					i++
				}
			}
			var h hybrid
			h.reset(hybridEncode(vals, width), width)
			got := make([]int32, 0, n)
			for len(got) < n {
				k := min(n-len(got), 1+r.IntN(100))
				dst := make([]int32, k)
				if err := h.decode(dst); err != nil {
					t.Fatalf("width %d: decode after %d of %d values: %v", width, len(got), n, err)
				}
				got = append(got, dst...)
			}
			for i, v := range vals {
				if uint32(got[i]) != v {
					t.Fatalf("width %d: value %d = %d, want %d", width, i, uint32(got[i]), v)
				}
			}
			// At most 7 values of padding follow the last one.
			if err := h.decode(make([]int32, 8)); err == nil {
				t.Fatalf("width %d: decoded past the end", width)
			}
		}
	}
}

func TestHybridDamaged(t *testing.T) {
	good := hybridEncode([]uint32{1, 2, 3, 4, 5, 6, 7, 0, 1, 2}, 3)
	for _, tc := range []struct {
		name  string
		data  []byte
		width uint
		n     int
	}{
		{"empty", nil, 3, 1},
		{"past the end", good, 3, 17},
		{"unterminated header", []byte{0x80, 0x80}, 3, 1},
		{"repeated run without its value", []byte{8 << 1}, 16, 1},
		{"repeated value wider than the width", []byte{8 << 1, 0x09}, 3, 1},
		{"bit-packed run without bytes", []byte{1<<1 | 1}, 3, 1},
		{"huge run", binary.AppendUvarint(nil, 1<<40), 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h hybrid
			h.reset(tc.data, tc.width)
			if err := h.decode(make([]int32, tc.n)); err == nil {
				t.Fatal("decode succeeded")
			}
		})
	}
}

// FuzzHybrid: any bytes decode to values within the bit width, or to an
// error, without a panic.
func FuzzHybrid(f *testing.F) {
	f.Add(hybridEncode([]uint32{1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3}, 2), uint8(2), uint16(11))
	f.Add(hybridEncode([]uint32{5, 0, 7, 3}, 3), uint8(3), uint16(4))
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff}, uint8(32), uint16(8))
	long := make([]uint32, 300)
	for i := range long {
		long[i] = uint32(i*7+i/5) % 8
	}
	f.Add(hybridEncode(long, 3), uint8(3), uint16(len(long)))
	f.Fuzz(func(t *testing.T, data []byte, width uint8, n uint16) {
		w := uint(width % 33)
		var h hybrid
		h.reset(data, w)
		dst := make([]int32, int(n)%4096)
		if err := h.decode(dst); err != nil {
			return
		}
		for _, v := range dst {
			if w < 32 && uint64(uint32(v)) >= 1<<w {
				t.Fatalf("value %d wider than %d bits", uint32(v), w)
			}
		}
		if want, ok := hybridRef(data, w, len(dst)); ok && !slices.Equal(dst, want) {
			t.Fatalf("decoded %v, want %v", dst, want)
		}
		// In two calls, split anywhere, the values are the same.
		if len(dst) > 1 {
			k := int(data[0]) % len(dst)
			h.reset(data, w)
			split := make([]int32, len(dst))
			if h.decode(split[:k]) != nil || h.decode(split[k:]) != nil || !slices.Equal(split, dst) {
				t.Fatalf("split at %d: %v, want %v", k, split, dst)
			}
		}
	})
}

// hybridRef decodes n values bit by bit, the plain way: the reference
// for hybrid.decode. ok is false where the input runs short.
func hybridRef(data []byte, w uint, n int) (out []int32, ok bool) {
	for len(out) < n {
		header, k := binary.Uvarint(data)
		if k <= 0 {
			return nil, false
		}
		data = data[k:]
		count := int(header >> 1)
		if header&1 == 0 {
			nb := int(w+7) / 8
			if len(data) < nb {
				return nil, false
			}
			var v uint64
			for i := nb - 1; i >= 0; i-- {
				v = v<<8 | uint64(data[i])
			}
			data = data[nb:]
			for i := 0; i < count && len(out) < n; i++ {
				out = append(out, int32(v))
			}
			continue
		}
		for i := 0; i < count*8 && len(out) < n; i++ {
			var v uint64
			for b := uint(0); b < w; b++ {
				bit := uint(i)*w + b
				if int(bit/8) >= len(data) {
					return nil, false
				}
				v |= uint64(data[bit/8]>>(bit%8)&1) << b
			}
			out = append(out, int32(v))
		}
		data = data[min(len(data), (count*8*int(w)+7)/8):]
	}
	return out, true
}

func TestPlainStringsDamaged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ok := []byte{2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0}
	d, err := plainStrings(ok, 2, mem)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.Value(0) != "hi" || d.Value(1) != "" {
		t.Errorf("dictionary = %v", d)
	}
	d.Release()
	for _, data := range [][]byte{ok[:3], ok[:5], {0xff, 0xff, 0xff, 0xff, 'x'}} {
		if _, err := plainStrings(data, 2, mem); !errors.Is(err, errDictPage) {
			t.Errorf("plainStrings(%v) = %v, want a dictionary page error", data, err)
		}
	}
}

// FuzzPlainStrings: any dictionary page decodes to the values it holds,
// or to an error, without a panic or an allocation beyond its size.
func FuzzPlainStrings(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0}, 2)
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f}, 1<<30)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		d, err := plainStrings(data, n, mem)
		if err != nil {
			if !errors.Is(err, errDictPage) {
				t.Fatalf("error %v is not a dictionary page error", err)
			}
			return
		}
		defer d.Release()
		if d.Len() != n {
			t.Fatalf("%d values, want %d", d.Len(), n)
		}
		total := 0
		for i := range n {
			total += 4 + len(d.Value(i))
		}
		if total > len(data) {
			t.Fatalf("values of %d bytes from a page of %d", total, len(data))
		}
	})
}

func TestCheckIndices(t *testing.T) {
	if err := checkIndices([]int32{0, 3, 2}, 4); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		idx []int32
		n   int
	}{
		{[]int32{0, 4}, 4},
		{[]int32{-1}, 4},
		{[]int32{0}, 0},
	} {
		if err := checkIndices(tc.idx, tc.n); !errors.Is(err, errDictPage) {
			t.Errorf("checkIndices(%v, %d) = %v, want an error", tc.idx, tc.n, err)
		}
	}
}

// TestWriterKeepsDictionaries: however many batches (each with its own
// dictionaries, as parsed objects come) a row group gathers, every
// column written with a dictionary keeps dictionary-encoded pages only.
// pqarrow falls back to plain pages at the first batch whose dictionary
// differs from the chunk's first.
func TestWriterKeepsDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(context.Background(), st, Options{Allocator: mem, RowGroupRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	var objs []object
	for i := 0; i < 12; i++ {
		ref := ingest.ObjectRef{Key: "E1DICT." + hour.Format("2006-01-02-15") + "." + string(rune('a'+i)) + ".gz", DistributionID: "E1DICT", Hour: hour}
		objs = append(objs, object{ref, genLog(hour, time.Hour, 700, uint64(i))})
	}
	ingestObjects(t, mem, w, objs, false)
	files, err := Files(context.Background(), st, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dictCols := 0
	for _, f := range files {
		rd, closeFile, err := openParquet(context.Background(), st, f.Key, "", mem)
		if err != nil {
			t.Fatal(err)
		}
		if rd.NumRowGroups() < 2 {
			t.Errorf("%s: %d row groups, want several", f.Key, rd.NumRowGroups())
		}
		for g := 0; g < rd.NumRowGroups(); g++ {
			rg := rd.RowGroup(g)
			for leaf := 0; leaf < rd.MetaData().Schema.NumColumns(); leaf++ {
				cc, err := rg.MetaData().ColumnChunk(leaf)
				if err != nil {
					t.Fatal(err)
				}
				if !cc.HasDictionaryPage() {
					continue
				}
				dictCols++
				if !onlyDictPages(rg, leaf) {
					t.Errorf("%s row group %d: column %s has pages %v", f.Key, g, rd.MetaData().Schema.Column(leaf).Name(), cc.EncodingStats())
				}
			}
		}
		closeFile()
	}
	if dictCols == 0 {
		t.Fatal("no dictionary column written")
	}
}

// TestFlatBatchesOtherPages: files from writers other than the dataset's
// (version 2 data pages; plain pages in dictionary columns) read the same
// rows through flatBatches as through pqarrow; chunks with plain pages go
// the column chunk reader's way.
func TestFlatBatchesOtherPages(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	var batches []arrow.RecordBatch
	for i := 0; i < 3; i++ {
		ref := ingest.ObjectRef{Key: "E1PAGES.2025-09-10-08." + string(rune('a'+i)) + ".gz", DistributionID: "E1PAGES", Hour: hour}
		batches = append(batches, parseLog(t, mem, ref, genLog(hour, time.Hour, 900, uint64(i)))...)
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for _, tc := range []struct {
		name       string
		props      []parquet.WriterProperty
		wantIndex  bool
		dictionary bool
	}{
		{"version 2 pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(true), parquet.WithDataPageSize(256)}, true, true},
		{"no dictionaries", []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}, false, false},
		{"version 1 pages", []parquet.WriterProperty{parquet.WithDictionaryDefault(true), parquet.WithDataPageSize(256)}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.parquet")
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			props := parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithAllocator(mem), parquet.WithMaxRowGroupLength(1000)}, tc.props...)...)
			fw, err := pqarrow.NewFileWriter(schema.Arrow(), out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema(), pqarrow.WithCoerceTimestamps(arrow.Millisecond)))
			if err != nil {
				t.Fatal(err)
			}
			// One batch at a time: with more than one per row group the
			// dictionary columns after the first batch go plain, as they
			// would from a writer other than ours.
			for _, b := range batches {
				if err := fw.WriteBuffered(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			rd, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var ref []arrow.RecordBatch
			if err := fileBatches(context.Background(), rd, flatColumns, 512, mem, func(b arrow.RecordBatch) error {
				b.Retain()
				ref = append(ref, b)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			fields := make([]arrow.Field, len(flatColumns))
			for i, c := range flatColumns {
				fields[i] = schema.Arrow().Field(c)
			}
			want := rowsOf(t, arrow.NewSchema(fields, nil), ref)
			for _, b := range ref {
				b.Release()
			}
			var sc flatScratch
			defer sc.release()
			var flat []arrow.RecordBatch
			ok, err := flatBatches(context.Background(), rd, flatColumns, 512, mem, true, &sc, func(b arrow.RecordBatch) error {
				b.Retain()
				flat = append(flat, b)
				return nil
			})
			if err != nil || !ok {
				t.Fatalf("flatBatches = %v, %v", ok, err)
			}
			if len(flat) == 0 {
				t.Fatal("flatBatches gave no batch")
			}
			got := rowsOf(t, flat[0].Schema(), flat)
			for _, b := range flat {
				b.Release()
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-pqarrow +flat):\n%s", diff)
			}
			if (sc.indexChunks > 0) != tc.wantIndex {
				t.Errorf("%d chunks read by their indices, want some: %v", sc.indexChunks, tc.wantIndex)
			}
		})
	}
}

// TestDictChunkDamaged: a dictionary page that is cut short or an index
// outside the dictionary is an error naming the damage, not a panic or a
// wrong value.
func TestDictChunkDamaged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	ref := ingest.ObjectRef{Key: "E1BAD.2025-09-10-08.a.gz", DistributionID: "E1BAD", Hour: hour}
	batches := parseLog(t, mem, ref, genLog(hour, time.Hour, 400, 1))
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithDictionaryDefault(true))
	fw, err := pqarrow.NewFileWriter(schema.Arrow(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema(), pqarrow.WithCoerceTimestamps(arrow.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := fw.Write(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// The dictionary of the detailed result type holds "Hit": change the
	// length before it, so that it runs past the page.
	i := bytes.Index(data, []byte("OriginCommError"))
	if i < 4 || binary.LittleEndian.Uint32(data[i-4:]) != uint32(len("OriginCommError")) {
		t.Fatal("the dictionary value is not in the file as a PLAIN byte array")
	}
	bad := slices.Clone(data)
	binary.LittleEndian.PutUint32(bad[i-4:], 1<<20)
	rd, err := file.NewParquetReader(bytes.NewReader(bad), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var sc flatScratch
	defer sc.release()
	_, err = flatBatches(context.Background(), rd, []int{schema.EdgeDetailedResultType}, 100, mem, true, &sc, func(arrow.RecordBatch) error { return nil })
	if !errors.Is(err, errDictPage) {
		t.Fatalf("flatBatches = %v, want a dictionary page error", err)
	}
}
